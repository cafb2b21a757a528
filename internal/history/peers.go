package history

import (
	"encoding/binary"
	"fmt"

	"github.com/warren-vpn/warren/internal/noise"
)

// maxInterfaceName bounds an interface name (Linux allows 15 bytes, a
// Windows tunnel 32 characters; this leaves room and bounds the file).
const maxInterfaceName = 255

// peerKey identifies a peer: the same public key on two interfaces is two
// peers, and a peer removed and added again keeps its history.
type peerKey struct {
	iface string
	pub   noise.PublicKey
}

// peerState is what the store remembers of a peer between samples.
type peerState struct {
	id  uint32
	key peerKey
	// rx and tx are the counters at the last sample that listed the peer;
	// they are meaningful only while known.
	rx, tx uint64
	// known is false once a sample of the peer's interface did not list it
	// (removed, or the interface went away): counters restart from zero
	// when it comes back, so its next counters are all new traffic.
	known bool
	// handshake is the latest handshake (unix nanoseconds), 0 for none.
	handshake int64
	// lastSeen is the last sample (unix seconds) that listed the peer.
	lastSeen int64
	// dirty marks a state not yet written to the database.
	dirty bool
}

const flagKnown = 1

// marshal encodes the state as the value of its peers entry.
func (p *peerState) marshal() []byte {
	b := make([]byte, 0, 1+len(p.key.iface)+noise.KeySize+1+4*binary.MaxVarintLen64)
	b = binary.AppendUvarint(b, uint64(len(p.key.iface)))
	b = append(b, p.key.iface...)
	b = append(b, p.key.pub[:]...)
	flags := byte(0)
	if p.known {
		flags |= flagKnown
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, p.rx)
	b = binary.AppendUvarint(b, p.tx)
	b = binary.AppendVarint(b, p.handshake)
	b = binary.AppendVarint(b, p.lastSeen)
	return b
}

// unmarshalPeer decodes a peers entry; it fails with ErrCorrupt on anything
// but exactly what marshal writes.
func unmarshalPeer(id uint32, b []byte) (*peerState, error) {
	bad := func(what string) error {
		return fmt.Errorf("%w: peer %d: %s", ErrCorrupt, id, what)
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 || n > maxInterfaceName || uint64(len(b)-k) < n+noise.KeySize+1 {
		return nil, bad("bad interface name")
	}
	b = b[k:]
	p := &peerState{id: id}
	p.key.iface = string(b[:n])
	b = b[n:]
	copy(p.key.pub[:], b[:noise.KeySize])
	b = b[noise.KeySize:]
	if b[0]&^flagKnown != 0 {
		return nil, bad("unknown flags")
	}
	p.known = b[0]&flagKnown != 0
	b = b[1:]
	for _, u := range []*uint64{&p.rx, &p.tx} {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, bad("bad counter")
		}
		*u, b = v, b[k:]
	}
	for _, s := range []*int64{&p.handshake, &p.lastSeen} {
		v, k := binary.Varint(b)
		if k <= 0 {
			return nil, bad("bad time")
		}
		*s, b = v, b[k:]
	}
	if len(b) != 0 {
		return nil, bad("trailing bytes")
	}
	return p, nil
}

func idKey(id uint32) []byte { return binary.BigEndian.AppendUint32(nil, id) }

func slotKey(s int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(s)) }
