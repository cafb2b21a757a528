package device

import (
	"errors"
	"fmt"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wire"
)

// sendInitiation starts a handshake with p (whitepaper §5.4.2), at most once
// per RekeyTimeout. isRetry marks retransmissions, which keep counting
// attempts. It takes no device-wide lock, so any goroutine may call it.
func (p *Peer) sendInitiation(isRetry bool) {
	d := p.d
	if !isRetry {
		p.tmu.Lock()
		p.handshakeAttempts = 0
		p.tmu.Unlock()
	}
	if !d.isUp.Load() {
		return
	}
	var buf [wire.InitiationSize]byte
	p.hsMu.Lock()
	id := d.identity.Load()
	now := d.now()
	if id == nil || p.peerKeysLocked() == nil ||
		(!p.lastSentHandshake.IsZero() && now.Sub(p.lastSentHandshake) < RekeyTimeout) {
		p.hsMu.Unlock()
		return
	}
	p.lastSentHandshake = now
	p.zeroHandshakeLocked()
	idx, err := d.index.newIndex(p)
	if err != nil {
		p.hsMu.Unlock()
		d.log.Errorf("%v - Failed to create initiation: %v", p, err)
		return
	}
	var rec keyLogRecord
	msg, init, err := noise.CreateInitiationRevealing(id, p.keys, idx, now, d.rand,
		d.revealTo(&rec, &id.Private, &p.keys.Remote, &p.keys.PSK))
	if err != nil {
		clear(rec.buf[:])
		d.index.remove(idx)
		p.hsMu.Unlock()
		d.log.Errorf("%v - Failed to create initiation: %v", p, err)
		return
	}
	p.initiator, p.hsIndex = init, idx
	b := msg.Marshal(buf[:])
	p.cookieGen().AddMACs(b, now)
	p.hsMu.Unlock()
	p.writeKeyLog(&rec) // before the message leaves, so a capture never outruns it

	d.log.Verbosef("%v - Sending handshake initiation", p)
	p.timersAnyAuthenticatedPacketTraversal()
	p.timersAnyAuthenticatedPacketSent()
	// The retransmission is armed before the send: the response may
	// arrive, and a handshake worker complete the handshake and disarm
	// it, before this goroutine runs again after the send; armed after,
	// it would survive and retry a handshake that had completed.
	p.timersHandshakeInitiated()
	if err := p.sendRaw(b); err != nil {
		d.log.Verbosef("%v - Failed to send handshake initiation: %v", p, err)
	}
}

// sendRaw sends one handshake message to the peer's endpoint.
func (p *Peer) sendRaw(b []byte) error {
	ep := p.getEndpoint()
	if ep == nil {
		return errNoEndpoint
	}
	if err := p.d.bind.Send([][]byte{b}, ep); err != nil {
		return fmt.Errorf("send to %v: %w", ep, err)
	}
	p.txBytes.Add(uint64(len(b)))
	return nil
}

// handleHandshake consumes an admitted handshake message.
func (d *Device) handleHandshake(m *hsMsg, now time.Time) {
	msg := m.buf[:m.n]
	if msg[0] == wire.TypeCookieReply {
		d.handleCookieReply(msg, now)
		return
	}
	var followUp *Peer
	d.mu.RLock()
	if d.identity.Load() == nil || !d.up {
		d.mu.RUnlock()
		return
	}
	switch msg[0] {
	case wire.TypeInitiation:
		d.handleInitiation(msg, m.ep, now)
	case wire.TypeResponse:
		followUp = d.handleResponse(msg, m.ep, now)
	}
	d.mu.RUnlock()
	if followUp != nil {
		// The initiator confirms the session at once (§5.4.6): with
		// staged data or else a keepalive.
		followUp.sendKeepalive()
	}
}

// handleInitiation answers a valid initiation with a response and a new
// next session. d.mu is held for reading.
func (d *Device) handleInitiation(msg []byte, ep bind.Endpoint, now time.Time) {
	id := d.identity.Load()
	im, err := wire.ParseInitiation(msg)
	if err != nil {
		return
	}
	// The peer's precomputed static-static DH saves one of the two DH
	// operations of consuming the initiation (d.mu, held for reading,
	// keeps p.keys from changing).
	var p *Peer
	ci, _, err := noise.ConsumeInitiationWith(id, &im, func(pk noise.PublicKey) *noise.PeerKeys {
		if p = d.peers[pk]; p == nil {
			return nil
		}
		p.hsMu.Lock()
		defer p.hsMu.Unlock()
		return p.peerKeysLocked()
	})
	if errors.Is(err, noise.ErrUnknownPeer) {
		d.log.Verbosef("Handshake initiation from unknown peer at %v", ep)
		return
	}
	if err != nil {
		d.log.Verbosef("Invalid handshake initiation from %v: %v", ep, err)
		return
	}
	defer ci.Zero()
	var buf [wire.ResponseSize]byte
	p.hsMu.Lock()
	if p.keys == nil {
		p.hsMu.Unlock()
		return
	}
	if !ci.Timestamp.After(p.lastTimestamp) {
		p.hsMu.Unlock()
		d.log.Verbosef("%v - Dropping handshake initiation: %v", p, noise.ErrStaleTimestamp)
		return
	}
	if !p.lastInitiationConsumed.IsZero() && now.Sub(p.lastInitiationConsumed) < HandshakeInitiationRate {
		p.hsMu.Unlock()
		d.log.Verbosef("%v - Dropping handshake initiation: flood", p)
		return
	}
	idx, err := d.index.newIndex(p)
	if err != nil {
		p.hsMu.Unlock()
		d.log.Errorf("%v - Failed to create response: %v", p, err)
		return
	}
	var rec keyLogRecord
	defer clear(rec.buf[:])
	resp, nk, err := ci.CreateResponseRevealing(p.keys, idx, d.rand,
		d.revealTo(&rec, &id.Private, &p.keys.Remote, &p.keys.PSK))
	if err != nil {
		d.index.remove(idx)
		p.hsMu.Unlock()
		d.log.Verbosef("%v - Failed to create response: %v", p, err)
		return
	}
	kp, err := newKeypair(p, nk, now)
	if err != nil {
		d.index.remove(idx)
		p.hsMu.Unlock()
		d.log.Errorf("%v - Failed to derive keypair: %v", p, err)
		return
	}
	p.lastTimestamp = ci.Timestamp
	p.lastInitiationConsumed = now
	p.lastSentHandshake = now
	d.index.setKeypair(idx, kp)
	b := resp.Marshal(buf[:])
	p.cookieGen().AddMACs(b, now)
	p.hsMu.Unlock()
	p.writeKeyLog(&rec) // before the response leaves

	d.log.Verbosef("%v - Received handshake initiation", p)
	p.rxBytes.Add(uint64(len(msg)))
	p.setEndpoint(ep)
	p.timersAnyAuthenticatedPacketTraversal()
	p.timersAnyAuthenticatedPacketReceived()
	p.installKeypair(kp)
	p.timersSessionDerived()
	d.log.Verbosef("%v - Sending handshake response", p)
	p.timersAnyAuthenticatedPacketTraversal()
	p.timersAnyAuthenticatedPacketSent()
	if err := p.sendRaw(b); err != nil {
		d.log.Verbosef("%v - Failed to send handshake response: %v", p, err)
	}
}

// handleResponse completes our initiation and makes its session current.
// It returns the peer when the handshake completed. d.mu is held for
// reading.
func (d *Device) handleResponse(msg []byte, ep bind.Endpoint, now time.Time) *Peer {
	rm, err := wire.ParseResponse(msg)
	if err != nil {
		return nil
	}
	ent, ok := d.index.lookup(rm.Receiver)
	if !ok || ent.kp != nil {
		return nil
	}
	p := ent.peer
	p.hsMu.Lock()
	if p.initiator == nil || p.hsIndex != rm.Receiver || p.keys == nil {
		p.hsMu.Unlock()
		return nil
	}
	nk, err := p.initiator.ConsumeResponse(d.identity.Load(), p.keys, &rm)
	if err != nil {
		p.hsMu.Unlock()
		d.log.Verbosef("%v - Invalid handshake response: %v", p, err)
		return nil
	}
	kp, err := newKeypair(p, nk, now)
	if err != nil {
		p.hsMu.Unlock()
		d.log.Errorf("%v - Failed to derive keypair: %v", p, err)
		return nil
	}
	p.initiator.Zero()
	p.initiator = nil
	p.hsIndex = 0 // the index now names the session
	d.index.setKeypair(rm.Receiver, kp)
	p.hsMu.Unlock()

	d.log.Verbosef("%v - Received handshake response", p)
	p.rxBytes.Add(uint64(len(msg)))
	p.setEndpoint(ep)
	p.timersAnyAuthenticatedPacketTraversal()
	p.timersAnyAuthenticatedPacketReceived()
	p.installKeypair(kp)
	p.timersSessionDerived()
	p.timersHandshakeComplete()
	return p
}

// handleCookieReply stores the cookie a loaded responder sent us (§5.4.7).
func (d *Device) handleCookieReply(msg []byte, now time.Time) {
	cr, err := wire.ParseCookieReply(msg)
	if err != nil {
		return
	}
	ent, ok := d.index.lookup(cr.Receiver)
	if !ok {
		return
	}
	if err := ent.peer.cookieGen().ConsumeReply(&cr, now); err != nil {
		d.log.Verbosef("%v - Could not decrypt cookie reply: %v", ent.peer, err)
		return
	}
	d.log.Verbosef("%v - Received cookie reply", ent.peer)
}

// installKeypair makes a fresh session available (§5.4.6): the initiator's
// becomes current at once; the responder's waits as next until the first
// packet proves the initiator has it.
func (p *Peer) installKeypair(kp *keypair) {
	var drop [3]*keypair
	p.mu.Lock()
	if kp.initiator {
		if p.next != nil {
			drop[0], drop[1] = p.prev, p.cur
			p.prev, p.next = p.next, nil
		} else {
			drop[0] = p.prev
			p.prev = p.cur
		}
		p.cur = kp
	} else {
		drop[0], drop[1] = p.next, p.prev
		p.next, p.prev = kp, nil
		kp.isNext.Store(true)
	}
	p.mu.Unlock()
	p.d.log.Verbosef("%v - Keypair %d created", p, kp.localIndex)
	p.d.dropKeypairs(drop[:])
}

// receivedWith rotates next to current when kp is the next session; it
// reports whether it did (the responder's handshake is then complete).
func (p *Peer) receivedWith(kp *keypair) bool {
	if !kp.isNext.Load() {
		return false
	}
	p.mu.Lock()
	if p.next != kp {
		p.mu.Unlock()
		return false
	}
	kp.isNext.Store(false)
	old := p.prev
	p.prev, p.cur, p.next = p.cur, kp, nil
	p.mu.Unlock()
	p.d.dropKeypairs([]*keypair{old})
	return true
}

// dropKeypairs frees the indices of sessions and wipes their keys.
func (d *Device) dropKeypairs(kps []*keypair) {
	for _, kp := range kps {
		if kp != nil {
			d.index.remove(kp.localIndex)
			kp.zero()
		}
	}
}
