package noise

// This file fixes the package's API for the engine. Bodies are filled in by
// handshake.go / cookie.go; see those files for the construction.

import (
	"crypto/ecdh"
	"errors"
	"io"
	"time"

	"github.com/warren-vpn/warren/internal/wire"
)

// Errors a handshake step can return; all are matchable with errors.Is.
var (
	ErrDecrypt        = errors.New("handshake decryption failed")
	ErrUnknownPeer    = errors.New("unknown peer")
	ErrInvalidKey     = errors.New("invalid or low-order public key")
	ErrBadMAC         = errors.New("invalid MAC1")
	ErrStaleTimestamp = errors.New("replayed or stale initiation timestamp")
)

// Identity is the local static keypair with its precomputed MAC/cookie keys.
type Identity struct {
	Private PrivateKey
	Public  PublicKey
	// unexported precomputations (mac1 key, cookie key) live here
	mac1Key   [32]byte
	cookieKey [32]byte
	// initHash is HASH(HASH(HASH(CONSTRUCTION) || IDENTIFIER) || Public): the
	// responder's starting hash.
	initHash [32]byte
	// key is Private loaded for DH (see dh.go).
	key *ecdh.PrivateKey
}

// NewIdentity precomputes an Identity for priv.
func NewIdentity(priv PrivateKey) *Identity { return newIdentity(priv) }

// Zero wipes the identity's secrets.
func (id *Identity) Zero() { id.zero() }

// PeerKeys is what the handshake needs about one remote peer: its static
// public key, the PSK, and the precomputed static-static DH.
type PeerKeys struct {
	Remote PublicKey
	PSK    PresharedKey
	ss     [32]byte
	// precomputed MAC1 key for messages sent to Remote
	mac1Key   [32]byte
	cookieKey [32]byte
	// initHash is the initiator's starting hash, bound to Remote.
	initHash [32]byte
}

// NewPeerKeys precomputes the static-static DH between local and remote.
// It fails with ErrInvalidKey when the DH result is all zeros.
func NewPeerKeys(local *Identity, remote PublicKey, psk PresharedKey) (*PeerKeys, error) {
	return newPeerKeys(local, remote, psk)
}

// Zero wipes the peer's secrets.
func (p *PeerKeys) Zero() { p.zero() }

// Timestamp is a TAI64N timestamp; later instants compare greater with After.
type Timestamp [wire.TimestampSize]byte

// NewTimestamp encodes now as TAI64N.
func NewTimestamp(now time.Time) Timestamp { return newTimestamp(now) }

// After reports whether t is strictly later than u.
func (t Timestamp) After(u Timestamp) bool { return timestampAfter(t, u) }

// Keypair is the pair of transport keys a completed handshake yields.
// Send and Receive are ChaCha20-Poly1305 keys.
type Keypair struct {
	Send, Receive [32]byte
	LocalIndex    uint32 // our index: the receiver field of packets we get
	RemoteIndex   uint32 // their index: the receiver field of packets we send
	Initiator     bool
}

// Zero wipes the keys.
func (k *Keypair) Zero() { clear(k.Send[:]); clear(k.Receive[:]) }

// Initiator is the state kept between sending an initiation and consuming
// the response.
type Initiator struct {
	st handshakeState
}

// Zero wipes the state.
func (i *Initiator) Zero() { i.st.zero() }

// CreateInitiation builds a message 1 to peer (MAC fields left zero: add them
// with a CookieGenerator).
func CreateInitiation(local *Identity, peer *PeerKeys, senderIndex uint32, now time.Time, rand io.Reader) (*wire.Initiation, *Initiator, error) {
	return createInitiation(local, peer, senderIndex, now, rand, nil)
}

// RevealFunc is handed the ephemeral private key a handshake step has just
// drawn (Ei_priv of §5.4.2, Er_priv of §5.4.3), for a key log with which a
// packet analyser can decrypt the session (Wireshark's WireGuard dissector
// reads it together with the local static private key). Whoever holds that
// key and the static keys can decrypt the session: the handshake's forward
// secrecy ends where the key goes, so reveal it only at the user's request.
//
// The key is a copy valid only during the call, on the caller's goroutine,
// before the step's DH operations: noise wipes it when the function
// returns, so the function must encode or copy what it keeps and must not
// retain the pointer. Nothing else of the handshake state (chaining key,
// hash, derived keys) is ever revealed.
type RevealFunc func(ephemeral *PrivateKey)

// CreateInitiationRevealing is CreateInitiation that first hands the
// initiation's ephemeral private key to reveal; with a nil reveal it is
// CreateInitiation.
func CreateInitiationRevealing(local *Identity, peer *PeerKeys, senderIndex uint32, now time.Time, rand io.Reader, reveal RevealFunc) (*wire.Initiation, *Initiator, error) {
	return createInitiation(local, peer, senderIndex, now, rand, reveal)
}

// ConsumeResponse checks message 2 against the initiation state and derives
// the transport keys. MAC1 must already have been verified.
func (i *Initiator) ConsumeResponse(local *Identity, peer *PeerKeys, msg *wire.Response) (*Keypair, error) {
	return i.consumeResponse(local, peer, msg)
}

// ConsumedInitiation is a decrypted message 1: the caller looks up the peer
// by Remote, checks Timestamp against the last one seen from that peer, and
// then calls CreateResponse.
type ConsumedInitiation struct {
	Remote    PublicKey
	Timestamp Timestamp
	Sender    uint32
	st        handshakeState
}

// ConsumeInitiation decrypts message 1 with the local identity. MAC1 must
// already have been verified.
func ConsumeInitiation(local *Identity, msg *wire.Initiation) (*ConsumedInitiation, error) {
	return consumeInitiation(local, msg)
}

// CreateResponse finishes the responder's side: it builds message 2 (MAC
// fields left zero) and the transport keys.
func (c *ConsumedInitiation) CreateResponse(peer *PeerKeys, senderIndex uint32, rand io.Reader) (*wire.Response, *Keypair, error) {
	return c.createResponse(peer, senderIndex, rand, nil)
}

// CreateResponseRevealing is CreateResponse that first hands the
// response's ephemeral private key to reveal (see RevealFunc); with a nil
// reveal it is CreateResponse.
func (c *ConsumedInitiation) CreateResponseRevealing(peer *PeerKeys, senderIndex uint32, rand io.Reader, reveal RevealFunc) (*wire.Response, *Keypair, error) {
	return c.createResponse(peer, senderIndex, rand, reveal)
}

// Zero wipes the state.
func (c *ConsumedInitiation) Zero() { c.st.zero() }

// CookieChecker is the responder's side of §5.4.7: it verifies MAC1 and MAC2
// on incoming handshake messages and issues cookie replies under load.
type CookieChecker struct{ cookieChecker }

// NewCookieChecker prepares a checker for messages addressed to local.
func NewCookieChecker(local PublicKey, rand io.Reader) *CookieChecker {
	return newCookieChecker(local, rand)
}

// CheckMAC1 verifies MAC1 of a whole marshaled handshake message.
func (c *CookieChecker) CheckMAC1(msg []byte) bool { return c.checkMAC1(msg) }

// CheckMAC2 verifies MAC2 of msg for the source address src (the IP bytes
// followed by the port, as the cookie binds to them) at time now.
func (c *CookieChecker) CheckMAC2(msg, src []byte, now time.Time) bool {
	return c.checkMAC2(msg, src, now)
}

// CreateReply builds the cookie reply to msg (whose sender index is
// receiver) from src at now.
func (c *CookieChecker) CreateReply(msg []byte, receiver uint32, src []byte, now time.Time) (*wire.CookieReply, error) {
	return c.createReply(msg, receiver, src, now)
}

// CookieGenerator is the initiator's side: it stamps MAC1 and, when it holds
// a fresh cookie, MAC2 on outgoing handshake messages to one peer.
type CookieGenerator struct{ cookieGenerator }

// NewCookieGenerator prepares MACs for messages sent to remote.
func NewCookieGenerator(remote PublicKey) *CookieGenerator { return newCookieGenerator(remote) }

// AddMACs fills in MAC1 and MAC2 of the whole marshaled message msg.
func (g *CookieGenerator) AddMACs(msg []byte, now time.Time) { g.addMACs(msg, now) }

// ConsumeReply decrypts a cookie reply to the last message this generator
// stamped, remembering the cookie for 120 s.
func (g *CookieGenerator) ConsumeReply(r *wire.CookieReply, now time.Time) error {
	return g.consumeReply(r, now)
}
