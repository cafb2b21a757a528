package uapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// WriteGet writes dev as the body of a get=1 answer, without the errno line,
// byte for byte as wireguard-go does: private_key (if set), listen_port (if
// not 0), fwmark (if not 0), then per peer public_key, preshared_key (zeros
// when none), protocol_version, endpoint (if known), last handshake time as
// seconds and nanoseconds since the epoch (0 and 0 when none), tx_bytes,
// rx_bytes, persistent_keepalive_interval and one allowed_ip line each.
// Peers and allowed IPs are written in the order given.
func WriteGet(w io.Writer, dev *wgtypes.Device) error {
	gw := getWriter{w: w}
	if err := gw.device(dev); err != nil {
		return err
	}
	for i := range dev.Peers {
		if err := gw.peer(&dev.Peers[i]); err != nil {
			return err
		}
	}
	return gw.flush()
}

// StateStreamer is implemented by a Handler that can hand out its state
// peer by peer, from a snapshot of its peers taken when the call begins,
// so that the server answers a get without building the whole answer (or
// a whole wgtypes.Device) in memory: its memory does not grow with the
// number of peers while it writes to a slow client.
type StateStreamer interface {
	// StreamState calls dev once with the device's own fields (its Peers
	// empty), then peer once per peer, in the order a get lists them. The
	// values passed are valid only during the call. An error returned by
	// dev or peer stops the stream and is returned.
	StreamState(dev func(*wgtypes.Device) error, peer func(*wgtypes.Peer) error) error
}

// WriteGetStream writes the body of a get=1 answer, as WriteGet does, from
// what h streams. Only a few peers' worth of text is buffered at a time.
func WriteGetStream(w io.Writer, h StateStreamer) error {
	gw := getWriter{w: w}
	if err := h.StreamState(gw.device, gw.peer); err != nil {
		clear(gw.b.Bytes())
		return err
	}
	return gw.flush()
}

// getWriter encodes a get answer into a small buffer that it hands to w
// whenever it holds more than getChunk bytes, wiping it after each write
// (it may hold the private or a preshared key).
type getWriter struct {
	w io.Writer
	b bytes.Buffer
}

const getChunk = 32 << 10

func (g *getWriter) device(dev *wgtypes.Device) error {
	b := &g.b
	if !dev.PrivateKey.IsZero() {
		writeKey(b, "private_key", (*[noise.KeySize]byte)(&dev.PrivateKey))
	}
	if dev.ListenPort != 0 {
		writeUint(b, "listen_port", uint64(dev.ListenPort))
	}
	if dev.FwMark != 0 {
		writeUint(b, "fwmark", uint64(dev.FwMark))
	}
	return nil
}

func (g *getWriter) peer(p *wgtypes.Peer) error {
	b := &g.b
	writeKey(b, "public_key", (*[noise.KeySize]byte)(&p.PublicKey))
	writeKey(b, "preshared_key", (*[noise.KeySize]byte)(&p.PresharedKey))
	version := p.ProtocolVersion
	if version <= 0 {
		version = 1
	}
	writeUint(b, "protocol_version", uint64(version))
	if p.Endpoint.IsValid() {
		b.WriteString("endpoint=")
		b.Write(p.Endpoint.AppendTo(b.AvailableBuffer()))
		b.WriteByte('\n')
	}
	sec, nsec := handshakeTime(p.LastHandshakeTime)
	writeUint(b, "last_handshake_time_sec", uint64(sec))
	writeUint(b, "last_handshake_time_nsec", uint64(nsec))
	writeUint(b, "tx_bytes", p.TxBytes)
	writeUint(b, "rx_bytes", p.RxBytes)
	writeUint(b, "persistent_keepalive_interval", uint64(p.PersistentKeepaliveInterval))
	for _, pfx := range p.AllowedIPs {
		if pfx.IsValid() {
			b.WriteString("allowed_ip=")
			b.Write(pfx.AppendTo(b.AvailableBuffer()))
			b.WriteByte('\n')
		}
	}
	if b.Len() >= getChunk {
		return g.flush()
	}
	return nil
}

// flush hands the buffered text to w and wipes the buffer.
func (g *getWriter) flush() error {
	out := g.b.Bytes()
	_, err := g.w.Write(out)
	clear(out[:cap(out)])
	g.b.Reset()
	if err != nil {
		return fmt.Errorf("uapi: write get answer: %w", err)
	}
	return nil
}

// writeUint writes key=<decimal n>\n.
func writeUint(b *bytes.Buffer, key string, n uint64) {
	b.WriteString(key)
	b.WriteByte('=')
	b.Write(strconv.AppendUint(b.AvailableBuffer(), n, 10))
	b.WriteByte('\n')
}

// handshakeTime splits t for the wire. The zero Time, and any time before
// the epoch (which wg(8) could not parse), is written as 0 and 0.
func handshakeTime(t time.Time) (sec, nsec int64) {
	if t.IsZero() || t.Unix() < 0 {
		return 0, 0
	}
	return t.Unix(), int64(t.Nanosecond())
}

// ParseGet reads the answer to a get=1 request up to and including its
// "errno=N" line and the blank line after it, or up to the end of r if there
// is no errno line (so it also reads what WriteGet writes). A non-zero errno
// is returned as *Error. Unknown keys are ignored, as wg(8) ignores them;
// a malformed line is an *Error with EPROTO.
//
// If r is a *bufio.Reader, ParseGet reads nothing past the blank line.
func ParseGet(r io.Reader) (*wgtypes.Device, error) {
	dev, _, err := parseGet(newLineReader(r))
	return dev, err
}

// maxHandshakeSec bounds last_handshake_time_sec to what time.Time holds
// comfortably (the year 36812).
const maxHandshakeSec = 1 << 40

type getParser struct {
	dev      wgtypes.Device
	peer     *wgtypes.Peer
	nAllowed int
	sec      int64 // of the current peer's last handshake
	nsec     int64
}

// parseGet parses a get answer; sawErrno reports whether it ended with an
// errno line (rather than at the end of the stream).
func parseGet(lr *lineReader) (dev *wgtypes.Device, sawErrno bool, err error) {
	var p getParser
	start := lr.n
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			p.endPeer()
			return &p.dev, false, nil
		}
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				return nil, false, errorf(errnoProtocol, "get answer line %d: %w", lr.n-start+1, err)
			}
			return nil, false, errorf(errnoIO, "read get answer: %w", err)
		}
		if lr.n-start > MaxLines {
			return nil, false, errorf(errnoProtocol, "get answer has more than %d lines", MaxLines)
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, false, errorf(errnoProtocol, "get answer line %d is not key=value", lr.n-start)
		}
		if key == "errno" {
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n == -n && n != 0 {
				return nil, false, errorf(errnoProtocol, "get answer line %d: bad errno %q", lr.n-start, clip(value))
			}
			// The blank line that ends the answer; tolerate its absence at EOF.
			if end, err := lr.next(); err == nil && end != "" {
				return nil, true, errorf(errnoProtocol, "get answer: %q after errno", clip(end))
			}
			if n != 0 {
				return nil, true, &Error{Errno: abs(n)}
			}
			p.endPeer()
			return &p.dev, true, nil
		}
		if err := p.line(key, value); err != nil {
			return nil, false, errorf(errnoProtocol, "get answer line %d: %w", lr.n-start, err)
		}
	}
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func (p *getParser) line(key, value string) error {
	if key == "public_key" {
		k, err := noise.ParseHexKey(value)
		if err != nil {
			return fmt.Errorf("public_key: %w", err)
		}
		if len(p.dev.Peers) >= DefaultMaxPeers {
			return fmt.Errorf("more than %d peers", DefaultMaxPeers)
		}
		p.endPeer()
		p.dev.Peers = append(p.dev.Peers, wgtypes.Peer{PublicKey: k})
		p.peer = &p.dev.Peers[len(p.dev.Peers)-1]
		return nil
	}
	if p.peer == nil {
		return p.deviceLine(key, value)
	}
	return p.peerLine(key, value)
}

func (p *getParser) deviceLine(key, value string) error {
	switch key {
	case "private_key":
		k, err := noise.ParseHexKey(value)
		if err != nil {
			return fmt.Errorf("private_key: %w", err)
		}
		p.dev.PrivateKey = k
		if !p.dev.PrivateKey.IsZero() {
			p.dev.PublicKey = p.dev.PrivateKey.PublicKey()
		}
	case "listen_port":
		n, err := parseUint(value, 16)
		if err != nil {
			return fmt.Errorf("listen_port: %w", err)
		}
		p.dev.ListenPort = uint16(n)
	case "fwmark":
		n, err := parseUint(value, 32)
		if err != nil {
			return fmt.Errorf("fwmark: %w", err)
		}
		p.dev.FwMark = uint32(n)
	case "preshared_key", "protocol_version", "endpoint", "last_handshake_time_sec",
		"last_handshake_time_nsec", "tx_bytes", "rx_bytes",
		"persistent_keepalive_interval", "allowed_ip":
		return fmt.Errorf("peer key %q before any public_key", key)
	}
	return nil // unknown keys are for newer servers
}

func (p *getParser) peerLine(key, value string) error {
	peer := p.peer
	switch key {
	case "preshared_key":
		k, err := noise.ParseHexKey(value)
		if err != nil {
			return fmt.Errorf("preshared_key: %w", err)
		}
		peer.PresharedKey = k
	case "protocol_version":
		n, err := parseUint(value, 31)
		if err != nil {
			return fmt.Errorf("protocol_version: %w", err)
		}
		peer.ProtocolVersion = int(n)
	case "endpoint":
		ep, err := netip.ParseAddrPort(value)
		if err != nil {
			return fmt.Errorf("endpoint %q: %w", clip(value), err)
		}
		peer.Endpoint = ep
	case "last_handshake_time_sec":
		n, err := parseUint(value, 63)
		if err == nil && n > maxHandshakeSec {
			err = fmt.Errorf("%d: %w", n, strconv.ErrRange)
		}
		if err != nil {
			return fmt.Errorf("last_handshake_time_sec: %w", err)
		}
		p.sec = int64(n)
	case "last_handshake_time_nsec":
		n, err := parseUint(value, 63)
		if err == nil && n >= uint64(time.Second) {
			err = fmt.Errorf("%d: %w", n, strconv.ErrRange)
		}
		if err != nil {
			return fmt.Errorf("last_handshake_time_nsec: %w", err)
		}
		p.nsec = int64(n)
	case "tx_bytes":
		n, err := parseUint(value, 64)
		if err != nil {
			return fmt.Errorf("tx_bytes: %w", err)
		}
		peer.TxBytes = n
	case "rx_bytes":
		n, err := parseUint(value, 64)
		if err != nil {
			return fmt.Errorf("rx_bytes: %w", err)
		}
		peer.RxBytes = n
	case "persistent_keepalive_interval":
		n, err := parseUint(value, 16)
		if err != nil {
			return fmt.Errorf("persistent_keepalive_interval: %w", err)
		}
		peer.PersistentKeepaliveInterval = uint16(n)
	case "allowed_ip":
		pfx, err := netip.ParsePrefix(value)
		if err != nil {
			return fmt.Errorf("allowed_ip %q: %w", clip(value), err)
		}
		if p.nAllowed >= MaxAllowedIPs {
			return fmt.Errorf("more than %d allowed IPs", MaxAllowedIPs)
		}
		p.nAllowed++
		peer.AllowedIPs = append(peer.AllowedIPs, pfx)
	case "private_key", "listen_port", "fwmark":
		return fmt.Errorf("device key %q after a public_key", key)
	}
	return nil // unknown keys are for newer servers
}

// endPeer completes the current peer: its handshake time arrives in two lines.
func (p *getParser) endPeer() {
	if p.peer != nil && (p.sec != 0 || p.nsec != 0) {
		p.peer.LastHandshakeTime = time.Unix(p.sec, p.nsec)
	}
	p.sec, p.nsec = 0, 0
}
