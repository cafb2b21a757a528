package noise

// The Noise_IKpsk2 message exchange (whitepaper §5.4.2, §5.4.3, §5.4.5),
// with the paper's variable names in comments: C is the chaining key, H the
// hash, κ an AEAD key, τ the PSK-derived hash input.

import (
	"crypto/ecdh"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/warren-vpn/warren/internal/wire"
)

// ErrHandshakeUsed is returned when an Initiator or ConsumedInitiation is
// used after it completed (each yields at most one Keypair) or was zeroed.
var ErrHandshakeUsed = errors.New("handshake state already used or zeroed")

// handshakeState is the chaining key and hash carried between messages.
type handshakeState struct {
	chainKey [32]byte // C
	hash     [32]byte // H
	// ephemeral is the initiator's ephemeral private key, kept until the
	// response arrives.
	ephemeral *ecdh.PrivateKey
	// remoteEphemeral is the initiator's ephemeral public key, kept by the
	// responder until it answers.
	remoteEphemeral PublicKey
	localIndex      uint32
	valid           bool
}

func (s *handshakeState) zero() {
	clear(s.chainKey[:])
	clear(s.hash[:])
	s.ephemeral = nil
	clear(s.remoteEphemeral[:])
	s.localIndex = 0
	s.valid = false
}

func createInitiation(local *Identity, peer *PeerKeys, senderIndex uint32, now time.Time, rand io.Reader, reveal RevealFunc) (*wire.Initiation, *Initiator, error) {
	ini := new(Initiator)
	st := &ini.st
	st.chainKey = initialChainKey() // Ci = HASH(CONSTRUCTION)
	st.hash = peer.initHash         // Hi = HASH(HASH(Ci || IDENTIFIER) || Sr_pub)

	msg := &wire.Initiation{Sender: senderIndex}
	epriv, epub, err := generateEphemeral(rand, reveal)
	if err != nil {
		return nil, nil, fmt.Errorf("create initiation: %w", err)
	}
	st.ephemeral = epriv
	msg.Ephemeral = epub
	kdf1(&st.chainKey, st.chainKey[:], epub[:]) // Ci = KDF1(Ci, Ei_pub)
	mixHash(&st.hash, epub[:])                  // Hi = HASH(Hi || msg.ephemeral)

	es, err := dh(st.ephemeral, &peer.Remote)
	if err != nil {
		st.zero()
		return nil, nil, fmt.Errorf("create initiation: ephemeral-static DH: %w", err)
	}
	var key [32]byte
	kdf2(&st.chainKey, &key, st.chainKey[:], es[:]) // (Ci, κ) = KDF2(Ci, DH(Ei_priv, Sr_pub))
	clear(es[:])
	aeadSeal(msg.Static[:0], &key, local.Public[:], st.hash[:]) // AEAD(κ, 0, Si_pub, Hi)
	mixHash(&st.hash, msg.Static[:])

	kdf2(&st.chainKey, &key, st.chainKey[:], peer.ss[:]) // (Ci, κ) = KDF2(Ci, DH(Si_priv, Sr_pub))
	ts := newTimestamp(now)
	aeadSeal(msg.Timestamp[:0], &key, ts[:], st.hash[:]) // AEAD(κ, 0, TAI64N(), Hi)
	mixHash(&st.hash, msg.Timestamp[:])
	clear(key[:])

	st.localIndex = senderIndex
	st.valid = true
	return msg, ini, nil
}

// ConsumeInitiationWith is ConsumeInitiation for a responder that can look
// its peers up by static public key: once the initiator's static key is
// decrypted, lookup returns that peer's PeerKeys (nil when the peer is
// unknown: the result is then ErrUnknownPeer, before any further work), and
// their precomputed static-static DH replaces one of the two DH operations
// ConsumeInitiation performs. The PeerKeys found are returned for
// CreateResponse.
func ConsumeInitiationWith(local *Identity, msg *wire.Initiation, lookup func(PublicKey) *PeerKeys) (*ConsumedInitiation, *PeerKeys, error) {
	var peer *PeerKeys
	c, err := consumeInitiationLookup(local, msg, func(remote PublicKey) (*PeerKeys, error) {
		peer = lookup(remote)
		if peer == nil {
			return nil, fmt.Errorf("%w: %s", ErrUnknownPeer, remote)
		}
		return peer, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return c, peer, nil
}

func consumeInitiation(local *Identity, msg *wire.Initiation) (*ConsumedInitiation, error) {
	return consumeInitiationLookup(local, msg, nil)
}

// consumeInitiationLookup decrypts message 1; with a nil lookup it computes
// the static-static DH itself.
func consumeInitiationLookup(local *Identity, msg *wire.Initiation, lookup func(PublicKey) (*PeerKeys, error)) (*ConsumedInitiation, error) {
	var st handshakeState
	st.chainKey = initialChainKey()
	st.hash = local.initHash

	e := PublicKey(msg.Ephemeral)
	kdf1(&st.chainKey, st.chainKey[:], e[:])
	mixHash(&st.hash, e[:])

	es, err := dh(local.dhKey(), &e)
	if err != nil {
		st.zero()
		return nil, fmt.Errorf("consume initiation: ephemeral-static DH: %w", err)
	}
	var key [32]byte
	kdf2(&st.chainKey, &key, st.chainKey[:], es[:])
	clear(es[:])
	var static PublicKey
	if _, err := aeadOpen(static[:0], &key, msg.Static[:], st.hash[:]); err != nil {
		clear(key[:])
		st.zero()
		return nil, fmt.Errorf("consume initiation: static key: %w", err)
	}
	mixHash(&st.hash, msg.Static[:])

	// (Ci, κ) = KDF2(Ci, DH(Sr_priv, Si_pub)): precomputed in the peer's
	// PeerKeys when the caller can look it up, computed here otherwise.
	var ss [32]byte
	if lookup != nil {
		peer, err := lookup(static)
		if err != nil {
			clear(key[:])
			st.zero()
			return nil, fmt.Errorf("consume initiation: %w", err)
		}
		ss = peer.ss
	} else if ss, err = dh(local.dhKey(), &static); err != nil {
		clear(key[:])
		st.zero()
		return nil, fmt.Errorf("consume initiation: static-static DH with %s: %w", static, err)
	}
	kdf2(&st.chainKey, &key, st.chainKey[:], ss[:])
	clear(ss[:])
	var ts Timestamp
	_, err = aeadOpen(ts[:0], &key, msg.Timestamp[:], st.hash[:])
	clear(key[:])
	if err != nil {
		st.zero()
		return nil, fmt.Errorf("consume initiation: timestamp: %w", err)
	}
	mixHash(&st.hash, msg.Timestamp[:])

	st.remoteEphemeral = e
	st.valid = true
	return &ConsumedInitiation{Remote: static, Timestamp: ts, Sender: msg.Sender, st: st}, nil
}

func (c *ConsumedInitiation) createResponse(peer *PeerKeys, senderIndex uint32, rand io.Reader, reveal RevealFunc) (*wire.Response, *Keypair, error) {
	st := &c.st
	if !st.valid {
		return nil, nil, fmt.Errorf("create response: %w", ErrHandshakeUsed)
	}
	if !peer.Remote.Equal(c.Remote) {
		return nil, nil, fmt.Errorf("create response: %w: peer keys for %s, initiation from %s", ErrUnknownPeer, peer.Remote, c.Remote)
	}
	// Work on copies so that a failure (rand, DH) leaves c usable.
	ck, h := st.chainKey, st.hash
	defer clear(ck[:])

	epriv, epub, err := generateEphemeral(rand, reveal)
	if err != nil {
		return nil, nil, fmt.Errorf("create response: %w", err)
	}
	msg := &wire.Response{Sender: senderIndex, Receiver: c.Sender, Ephemeral: epub}
	kdf1(&ck, ck[:], epub[:]) // Cr = KDF1(Cr, Er_pub)
	mixHash(&h, epub[:])      // Hr = HASH(Hr || msg.ephemeral)

	ee, err := dh(epriv, &st.remoteEphemeral)
	if err != nil {
		return nil, nil, fmt.Errorf("create response: ephemeral-ephemeral DH: %w", err)
	}
	kdf1(&ck, ck[:], ee[:]) // Cr = KDF1(Cr, DH(Er_priv, Ei_pub))
	clear(ee[:])
	se, err := dh(epriv, &c.Remote)
	if err != nil {
		return nil, nil, fmt.Errorf("create response: ephemeral-static DH: %w", err)
	}
	kdf1(&ck, ck[:], se[:]) // Cr = KDF1(Cr, DH(Er_priv, Si_pub))
	clear(se[:])

	var tau, key [32]byte
	kdf3(&ck, &tau, &key, ck[:], peer.PSK[:]) // (Cr, τ, κ) = KDF3(Cr, Q)
	mixHash(&h, tau[:])
	clear(tau[:])
	aeadSeal(msg.Empty[:0], &key, nil, h[:]) // AEAD(κ, 0, ε, Hr)
	clear(key[:])
	mixHash(&h, msg.Empty[:])

	kp := &Keypair{LocalIndex: senderIndex, RemoteIndex: c.Sender}
	kdf2(&kp.Receive, &kp.Send, ck[:], nil) // (Tr_recv, Tr_send) = KDF2(Cr, ε)
	st.zero()
	return msg, kp, nil
}

func (i *Initiator) consumeResponse(local *Identity, peer *PeerKeys, msg *wire.Response) (*Keypair, error) {
	st := &i.st
	if !st.valid {
		return nil, fmt.Errorf("consume response: %w", ErrHandshakeUsed)
	}
	if msg.Receiver != st.localIndex {
		return nil, fmt.Errorf("consume response: %w: receiver index %#x, initiation was sent as %#x", ErrUnknownPeer, msg.Receiver, st.localIndex)
	}
	// Work on copies: a forged response must not disturb the state the
	// genuine one will need.
	ck, h := st.chainKey, st.hash
	defer clear(ck[:])

	e := PublicKey(msg.Ephemeral)
	kdf1(&ck, ck[:], e[:])
	mixHash(&h, e[:])
	ee, err := dh(st.ephemeral, &e)
	if err != nil {
		return nil, fmt.Errorf("consume response: ephemeral-ephemeral DH: %w", err)
	}
	kdf1(&ck, ck[:], ee[:])
	clear(ee[:])
	se, err := dh(local.dhKey(), &e)
	if err != nil {
		return nil, fmt.Errorf("consume response: static-ephemeral DH: %w", err)
	}
	kdf1(&ck, ck[:], se[:])
	clear(se[:])

	var tau, key [32]byte
	kdf3(&ck, &tau, &key, ck[:], peer.PSK[:])
	mixHash(&h, tau[:])
	clear(tau[:])
	var empty [0]byte
	_, err = aeadOpen(empty[:], &key, msg.Empty[:], h[:])
	clear(key[:])
	if err != nil {
		return nil, fmt.Errorf("consume response: %w", err)
	}

	kp := &Keypair{LocalIndex: st.localIndex, RemoteIndex: msg.Sender, Initiator: true}
	kdf2(&kp.Send, &kp.Receive, ck[:], nil) // (Ti_send, Ti_recv) = KDF2(Ci, ε)
	st.zero()
	return kp, nil
}
