// Package wire parses and marshals WireGuard's four message formats
// (whitepaper §5.4.2, §5.4.3, §5.4.7, §5.4.6) and nothing else.
//
// Parsing never allocates and never panics on hostile input; every error
// wraps ErrMalformed. It imports nothing of this module.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Message types, the first byte of every message.
const (
	TypeInitiation  = 1
	TypeResponse    = 2
	TypeCookieReply = 3
	TypeTransport   = 4
)

// Message sizes in bytes.
const (
	InitiationSize      = 148
	ResponseSize        = 92
	CookieReplySize     = 64
	TransportHeaderSize = 16
	// TransportOverhead is header plus Poly1305 tag: what a transport
	// message adds to the (padded) plaintext.
	TransportOverhead = TransportHeaderSize + TagSize
	// MinTransportSize is the size of an encrypted empty (keepalive) packet.
	MinTransportSize = TransportOverhead
	TagSize          = 16
	// PaddingMultiple is the size plaintexts are padded to a multiple of.
	PaddingMultiple = 16
)

// Offsets of the MAC fields, counted from the end of a handshake message.
const (
	MAC1FromEnd = 32
	MAC2FromEnd = 16
	MACSize     = 16
)

// TimestampSize is the length of a TAI64N timestamp.
const TimestampSize = 12

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("malformed message")

// Initiation is the first handshake message (type 1).
type Initiation struct {
	Sender    uint32
	Ephemeral [32]byte
	Static    [32 + TagSize]byte
	Timestamp [TimestampSize + TagSize]byte
	MAC1      [MACSize]byte
	MAC2      [MACSize]byte
}

// Response is the second handshake message (type 2).
type Response struct {
	Sender    uint32
	Receiver  uint32
	Ephemeral [32]byte
	Empty     [TagSize]byte
	MAC1      [MACSize]byte
	MAC2      [MACSize]byte
}

// CookieReply carries an encrypted cookie to an initiator under load (type 3).
type CookieReply struct {
	Receiver uint32
	Nonce    [24]byte
	Cookie   [16 + TagSize]byte
}

// TransportHeader is the fixed part of a transport data message (type 4).
type TransportHeader struct {
	Receiver uint32
	Counter  uint64
}

// Type returns the message type of b after checking that the three reserved
// bytes are zero and that b is long enough for its type.
func Type(b []byte) (uint8, error) {
	if len(b) < 4 {
		return 0, fmt.Errorf("%w: %d bytes is shorter than a header", ErrMalformed, len(b))
	}
	if b[1]|b[2]|b[3] != 0 {
		return 0, fmt.Errorf("%w: reserved bytes not zero", ErrMalformed)
	}
	t := b[0]
	var want int
	switch t {
	case TypeInitiation:
		want = InitiationSize
	case TypeResponse:
		want = ResponseSize
	case TypeCookieReply:
		want = CookieReplySize
	case TypeTransport:
		if len(b) < MinTransportSize {
			return 0, fmt.Errorf("%w: transport message of %d bytes", ErrMalformed, len(b))
		}
		return t, nil
	default:
		return 0, fmt.Errorf("%w: unknown type %d", ErrMalformed, t)
	}
	if len(b) != want {
		return 0, fmt.Errorf("%w: type %d message of %d bytes, want %d", ErrMalformed, t, len(b), want)
	}
	return t, nil
}

func putHeader(b []byte, t uint8) {
	b[0], b[1], b[2], b[3] = t, 0, 0, 0
}

// Marshal writes m into b, which must hold InitiationSize bytes, and returns b[:InitiationSize].
func (m *Initiation) Marshal(b []byte) []byte {
	b = b[:InitiationSize]
	putHeader(b, TypeInitiation)
	binary.LittleEndian.PutUint32(b[4:], m.Sender)
	copy(b[8:40], m.Ephemeral[:])
	copy(b[40:88], m.Static[:])
	copy(b[88:116], m.Timestamp[:])
	copy(b[116:132], m.MAC1[:])
	copy(b[132:148], m.MAC2[:])
	return b
}

// ParseInitiation decodes a type 1 message.
func ParseInitiation(b []byte) (Initiation, error) {
	var m Initiation
	if t, err := Type(b); err != nil {
		return m, err
	} else if t != TypeInitiation {
		return m, fmt.Errorf("%w: type %d is not an initiation", ErrMalformed, t)
	}
	m.Sender = binary.LittleEndian.Uint32(b[4:])
	copy(m.Ephemeral[:], b[8:40])
	copy(m.Static[:], b[40:88])
	copy(m.Timestamp[:], b[88:116])
	copy(m.MAC1[:], b[116:132])
	copy(m.MAC2[:], b[132:148])
	return m, nil
}

// Marshal writes m into b, which must hold ResponseSize bytes, and returns b[:ResponseSize].
func (m *Response) Marshal(b []byte) []byte {
	b = b[:ResponseSize]
	putHeader(b, TypeResponse)
	binary.LittleEndian.PutUint32(b[4:], m.Sender)
	binary.LittleEndian.PutUint32(b[8:], m.Receiver)
	copy(b[12:44], m.Ephemeral[:])
	copy(b[44:60], m.Empty[:])
	copy(b[60:76], m.MAC1[:])
	copy(b[76:92], m.MAC2[:])
	return b
}

// ParseResponse decodes a type 2 message.
func ParseResponse(b []byte) (Response, error) {
	var m Response
	if t, err := Type(b); err != nil {
		return m, err
	} else if t != TypeResponse {
		return m, fmt.Errorf("%w: type %d is not a response", ErrMalformed, t)
	}
	m.Sender = binary.LittleEndian.Uint32(b[4:])
	m.Receiver = binary.LittleEndian.Uint32(b[8:])
	copy(m.Ephemeral[:], b[12:44])
	copy(m.Empty[:], b[44:60])
	copy(m.MAC1[:], b[60:76])
	copy(m.MAC2[:], b[76:92])
	return m, nil
}

// Marshal writes m into b, which must hold CookieReplySize bytes, and returns b[:CookieReplySize].
func (m *CookieReply) Marshal(b []byte) []byte {
	b = b[:CookieReplySize]
	putHeader(b, TypeCookieReply)
	binary.LittleEndian.PutUint32(b[4:], m.Receiver)
	copy(b[8:32], m.Nonce[:])
	copy(b[32:64], m.Cookie[:])
	return b
}

// ParseCookieReply decodes a type 3 message.
func ParseCookieReply(b []byte) (CookieReply, error) {
	var m CookieReply
	if t, err := Type(b); err != nil {
		return m, err
	} else if t != TypeCookieReply {
		return m, fmt.Errorf("%w: type %d is not a cookie reply", ErrMalformed, t)
	}
	m.Receiver = binary.LittleEndian.Uint32(b[4:])
	copy(m.Nonce[:], b[8:32])
	copy(m.Cookie[:], b[32:64])
	return m, nil
}

// PutTransportHeader writes a type 4 header into b[:TransportHeaderSize].
func PutTransportHeader(b []byte, receiver uint32, counter uint64) {
	_ = b[TransportHeaderSize-1]
	putHeader(b, TypeTransport)
	binary.LittleEndian.PutUint32(b[4:], receiver)
	binary.LittleEndian.PutUint64(b[8:], counter)
}

// ParseTransportHeader decodes the header of a type 4 message. The rest of b
// (from TransportHeaderSize on) is the ciphertext with its tag.
func ParseTransportHeader(b []byte) (TransportHeader, error) {
	if t, err := Type(b); err != nil {
		return TransportHeader{}, err
	} else if t != TypeTransport {
		return TransportHeader{}, fmt.Errorf("%w: type %d is not transport data", ErrMalformed, t)
	}
	return TransportHeader{
		Receiver: binary.LittleEndian.Uint32(b[4:]),
		Counter:  binary.LittleEndian.Uint64(b[8:]),
	}, nil
}

// PaddedSize returns the length plaintext of n bytes is padded to, never
// exceeding mtu (whitepaper §5.4.6: pad to a multiple of 16, capped at the MTU).
func PaddedSize(n, mtu int) int {
	p := (n + PaddingMultiple - 1) &^ (PaddingMultiple - 1)
	if mtu > 0 && p > mtu {
		if n > mtu {
			return n
		}
		return mtu
	}
	return p
}
