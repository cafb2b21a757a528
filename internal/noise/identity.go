package noise

// Per-identity and per-peer precomputation: everything about the static keys
// that does not change between handshakes.

import "fmt"

func newIdentity(priv PrivateKey) *Identity {
	id := &Identity{Private: priv.Clamped()}
	id.key = loadPrivate(&id.Private)
	id.Public = PublicKey(id.key.PublicKey().Bytes())
	id.mac1Key = labeledKey(labelMAC1, &id.Public)
	id.cookieKey = labeledKey(labelCookie, &id.Public)
	h0 := initialHash()
	id.initHash = hashConcat(h0[:], id.Public[:])
	return id
}

func (id *Identity) zero() {
	id.Private.Zero()
	id.key = nil
	clear(id.mac1Key[:])
	clear(id.cookieKey[:])
	clear(id.initHash[:])
}

func newPeerKeys(local *Identity, remote PublicKey, psk PresharedKey) (*PeerKeys, error) {
	ss, err := dh(local.dhKey(), &remote)
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
