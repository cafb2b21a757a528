package noise

// Per-identity and per-peer precomputation: everything about the static keys
// that does not change between handshakes.

import "fmt"

func newIdentity(priv PrivateKey) *Identity {
	id := &Identity{Private: priv.Clamped()}
	id.Public = id.Private.PublicKey()
	id.mac1Key = labeledKey(labelMAC1, &id.Public)
	id.cookieKey = labeledKey(labelCookie, &id.Public)
	h0 := initialHash()
	id.initHash = hashConcat(h0[:], id.Public[:])
	return id
}

func (id *Identity) zero() {
	id.Private.Zero()
	clear(id.mac1Key[:])
	clear(id.cookieKey[:])
	clear(id.initHash[:])
}

func newPeerKeys(local *Identity, remote PublicKey, psk PresharedKey) (*PeerKeys, error) {
	ss, err := dh((*[32]byte)(&local.Private), (*[32]byte)(&remote))
	if err != nil {
		return nil, fmt.Errorf("peer %s: static-static DH: %w", remote, err)
	}
	p := &PeerKeys{Remote: remote, PSK: psk, ss: ss}
	clear(ss[:])
	p.mac1Key = labeledKey(labelMAC1, &remote)
	p.cookieKey = labeledKey(labelCookie, &remote)
	h0 := initialHash()
	p.initHash = hashConcat(h0[:], remote[:])
	return p, nil
}

func (p *PeerKeys) zero() {
	p.PSK.Zero()
	clear(p.ss[:])
	clear(p.mac1Key[:])
	clear(p.cookieKey[:])
	clear(p.initHash[:])
}
