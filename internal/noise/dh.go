package noise

// DH and DH-GENERATE (whitepaper §5.4) on crypto/ecdh.
//
// crypto/ecdh derives the public key whenever a private key is loaded, which
// costs as much as the DH itself; x/crypto's curve25519.X25519 loads the key
// on every call. Loading each static and ephemeral key once and keeping the
// *ecdh.PrivateKey halves the cost of every DH after the first. The
// ecdh.PrivateKey holds a copy of the scalar that cannot be wiped (the same
// is true of the copies curve25519.X25519 makes internally); Zero methods
// drop the reference so it becomes garbage.

import (
	"crypto/ecdh"
	"fmt"
	"io"
)

// loadPrivate prepares k for DH.
func loadPrivate(k *PrivateKey) *ecdh.PrivateKey {
	priv, err := ecdh.X25519().NewPrivateKey(k[:])
	if err != nil {
		panic("noise: X25519 private key of invalid length") // k is always 32 bytes
	}
	return priv
}

// dh is DH(priv, pub). An all-zero result (pub of low order) is ErrInvalidKey.
func dh(priv *ecdh.PrivateKey, pub *PublicKey) ([32]byte, error) {
	var out [32]byte
	p, err := ecdh.X25519().NewPublicKey(pub[:])
	if err != nil {
		return out, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	ss, err := priv.ECDH(p)
	if err != nil {
		return out, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	copy(out[:], ss)
	clear(ss)
	return out, nil
}

// generateEphemeral is DH-GENERATE(): a clamped private key drawn from rand,
// loaded for DH, and its public key. A non-nil reveal is handed a copy of
// the private key, wiped when it returns (a separate copy, so that the
// usual path keeps its key off the heap).
func generateEphemeral(rand io.Reader, reveal RevealFunc) (*ecdh.PrivateKey, PublicKey, error) {
	k, err := NewPrivateKey(rand)
	if err != nil {
		return nil, PublicKey{}, fmt.Errorf("ephemeral key: %w", err)
	}
	priv := loadPrivate(&k)
	if reveal != nil {
		shown := new(PrivateKey)
		*shown = k
		reveal(shown)
		shown.Zero()
	}
	k.Zero()
	return priv, PublicKey(priv.PublicKey().Bytes()), nil
}

// dhKey returns the identity's static key loaded for DH. An Identity built
// without NewIdentity is loaded on each call.
func (id *Identity) dhKey() *ecdh.PrivateKey {
	if id.key != nil {
		return id.key
	}
	return loadPrivate(&id.Private)
}
