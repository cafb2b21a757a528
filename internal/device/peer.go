package device

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/clock"
	"github.com/warren-vpn/warren/internal/noise"
)

// Peer is one remote WireGuard peer: its keys, sessions, endpoint, staged
// packets and timers.
//
// A device may hold a million of them, most idle, so the struct is kept
// small (it fits the 320-byte size class; TestPeerSize) and what only an
// active peer needs is allocated on first use: the timers on the first
// event that arms one, the staging queue on the first packet staged,
// sessions, handshake state, precomputed keys and cookie MAC keys on the
// first handshake.
type Peer struct {
	d       *Device
	cookies atomic.Pointer[noise.CookieGenerator] // made on first use (cookieGen)
	pub     noise.PublicKey

	keepalive               atomic.Uint32 // persistent keepalive interval in seconds
	initiating              atomic.Bool   // a goroutine is starting a handshake (goInitiate)
	sentLastMinuteHandshake atomic.Bool

	// hsMu guards the handshake state and the peer's precomputed keys.
	hsMu    sync.Mutex
	hsIndex uint32 // local index of the pending initiation, 0 if none
	// Packed with tmu's small fields below (TestPeerSize).
	lastTimestamp noise.Timestamp
	// tmu guards the timers (timers.go).
	pending              [numTimers]bool
	timersOn             bool
	needAnotherKeepalive bool
	// keysFailed (under hsMu, placed here to fill padding): the DH
	// rejected the public key; not tried again until forgotten.
	keysFailed        bool
	handshakeAttempts int32

	keys                   *noise.PeerKeys // computed on first use (peerKeysLocked); nil until then
	psk                    noise.PresharedKey
	initiator              *noise.Initiator
	lastSentHandshake      time.Time
	lastInitiationConsumed time.Time

	// mu guards the sessions, the endpoint and the staged packets.
	mu            sync.Mutex
	endpoint      bind.Endpoint
	prev, cur     *keypair
	next          *keypair
	staged        []*elem
	lastHandshake int64 // Unix nanoseconds of the last completed handshake; 0: none

	tmu    sync.Mutex
	timers []clock.Timer // numTimers of them once one was armed; nil before

	rxBytes, txBytes atomic.Uint64
}

// shortKey renders a public key the way logs name peers: "peer(AbCd…xyz=)".
func shortKey(k noise.PublicKey) string {
	s := k.String()
	return "peer(" + s[:4] + "…" + s[len(s)-4:] + ")"
}

func newPeer(d *Device, pub noise.PublicKey) *Peer {
	return &Peer{d: d, pub: pub}
}

// cookieGen returns the generator of the MACs of messages sent to the
// peer, made on first use: an idle peer does not pay for it.
func (p *Peer) cookieGen() *noise.CookieGenerator {
	if g := p.cookies.Load(); g != nil {
		return g
	}
	p.cookies.CompareAndSwap(nil, noise.NewCookieGenerator(p.pub))
	return p.cookies.Load()
}

// peerKeysLocked returns the peer's precomputed keys (the static-static
// DH, one X25519 operation, and hashes bound to its key), computing them
// on first use, or nil without a private key or for a public key the DH
// rejects. They are computed from the identity the device holds now and
// the peer's PSK, and forgotten whenever either changes (forgetKeysLocked),
// so adding a million peers costs no DH, and a peer that never shakes
// hands none ever. p.hsMu is held.
func (p *Peer) peerKeysLocked() *noise.PeerKeys {
	if p.keys != nil || p.keysFailed {
		return p.keys
	}
	id := p.d.identity.Load()
	if id == nil {
		return nil
	}
	keys, err := noise.NewPeerKeys(id, p.pub, p.psk)
	if err != nil {
		// Said once, and not computed again for every packet sent to
		// the peer, until the private key or the PSK changes.
		p.keysFailed = true
		p.d.log.Errorf("%v: %v", p, err)
		return nil
	}
	p.keys = keys
	return keys
}

// forgetKeysLocked wipes the precomputed keys; the next handshake computes
// them again. p.hsMu is held.
func (p *Peer) forgetKeysLocked() {
	p.keysFailed = false
	if p.keys != nil {
		p.keys.Zero()
		p.keys = nil
	}
}

// String names the peer for logs, computed each time rather than kept:
// only a log line that is written pays for it.
func (p *Peer) String() string { return shortKey(p.pub) }

// getEndpoint returns the peer's current endpoint or nil.
func (p *Peer) getEndpoint() bind.Endpoint {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.endpoint
}

// setEndpoint records where an authenticated packet came from (roaming).
func (p *Peer) setEndpoint(ep bind.Endpoint) {
	if ep == nil {
		return
	}
	p.mu.Lock()
	if p.endpoint == nil || p.endpoint.DstAddrPort() != ep.DstAddrPort() || p.endpoint.SrcAddr() != ep.SrcAddr() {
		p.endpoint = ep
	}
	p.mu.Unlock()
}

// stage queues packets until a session exists, dropping the oldest when
// the queue is full.
func (p *Peer) stage(es []*elem) {
	p.mu.Lock()
	if p.staged == nil {
		p.staged = make([]*elem, 0, min(MaxStagedPackets, max(8, len(es))))
	}
	p.staged = append(p.staged, es...)
	if over := len(p.staged) - MaxStagedPackets; over > 0 {
		for _, old := range p.staged[:over] {
			p.d.pools.putElem(old)
		}
		n := copy(p.staged, p.staged[over:])
		clear(p.staged[n:])
		p.staged = p.staged[:n]
	}
	p.mu.Unlock()
}

// dropStaged discards the staged packets.
func (p *Peer) dropStaged() {
	p.mu.Lock()
	for i, e := range p.staged {
		p.d.pools.putElem(e)
		p.staged[i] = nil
	}
	p.staged = nil
	p.mu.Unlock()
}

// zeroSessions wipes every session and the handshake state.
func (p *Peer) zeroSessions() {
	p.hsMu.Lock()
	p.zeroHandshakeLocked()
	p.lastSentHandshake = time.Time{} // a fresh start may initiate at once
	p.hsMu.Unlock()
	p.mu.Lock()
	prev, cur, next := p.prev, p.cur, p.next
	p.prev, p.cur, p.next = nil, nil, nil
	p.mu.Unlock()
	for _, kp := range []*keypair{prev, cur, next} {
		if kp != nil {
			p.d.index.remove(kp.localIndex)
			kp.zero()
		}
	}
}

// zeroHandshakeLocked forgets a pending initiation. p.hsMu is held.
func (p *Peer) zeroHandshakeLocked() {
	if p.initiator != nil {
		p.initiator.Zero()
		p.initiator = nil
	}
	if p.hsIndex != 0 {
		p.d.index.remove(p.hsIndex)
		p.hsIndex = 0
	}
}

// stop disables the peer's timers, wipes its sessions and drops its staged
// packets (device down or peer removed).
func (p *Peer) stop() {
	p.timersStop()
	p.zeroSessions()
	p.dropStaged()
}

// destroy is stop plus wiping the long-term keys (peer removed or device closed).
func (p *Peer) destroy() {
	p.stop()
	p.hsMu.Lock()
	p.forgetKeysLocked()
	p.psk.Zero()
	p.hsMu.Unlock()
}

// sessionUsable reports whether kp may still send at now.
func sessionUsable(kp *keypair, now time.Time) bool {
	return kp != nil && now.Sub(kp.created) < RejectAfterTime && kp.sendNonce.Load() < RejectAfterMessages
}
