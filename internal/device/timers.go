package device

import (
	"encoding/binary"
	"io"
	"slices"
	"time"

	"github.com/warren-vpn/warren/internal/clock"
)

// The timer state machine of whitepaper §6, one set per peer, created
// lazily on the device's clock so that idle peers cost nothing.

const (
	timerRetransmitHandshake = iota
	timerSendKeepalive
	timerNewHandshake
	timerZeroKeyMaterial
	timerPersistentKeepalive
	numTimers
)

// jitter draws the random extra of §6.1 from the device's source of
// randomness, so that tests may fix it.
func (d *Device) jitter() time.Duration {
	var b [4]byte
	if _, err := io.ReadFull(d.rand, b[:]); err != nil {
		return RekeyTimeoutJitterMax / 2
	}
	return time.Duration(binary.LittleEndian.Uint32(b[:])) % RekeyTimeoutJitterMax
}

// timerMod (re)arms timer i to fire after dur.
func (p *Peer) timerMod(i int, dur time.Duration) {
	p.tmu.Lock()
	defer p.tmu.Unlock()
	if !p.timersOn {
		return
	}
	p.pending[i] = true
	if p.timers == nil {
		p.timers = make([]clock.Timer, numTimers)
	}
	if p.timers[i] == nil {
		p.timers[i] = p.d.clock.AfterFunc(dur, func() { p.timerFired(i) })
		return
	}
	p.timers[i].Reset(dur)
}

func (p *Peer) timerDel(i int) {
	p.tmu.Lock()
	defer p.tmu.Unlock()
	p.pending[i] = false
	if p.timers != nil && p.timers[i] != nil {
		p.timers[i].Stop()
	}
}

func (p *Peer) timerPending(i int) bool {
	p.tmu.Lock()
	defer p.tmu.Unlock()
	return p.pending[i]
}

// timersStart enables the timers (device up, peer added while up).
func (p *Peer) timersStart() {
	p.tmu.Lock()
	p.timersOn = true
	p.handshakeAttempts = 0
	p.needAnotherKeepalive = false
	p.tmu.Unlock()
	p.sentLastMinuteHandshake.Store(false)
}

// timersStop stops and disables every timer.
func (p *Peer) timersStop() {
	p.tmu.Lock()
	defer p.tmu.Unlock()
	p.timersOn = false
	p.releaseTimersLocked()
}

// releaseTimersLocked stops every timer and lets them go: a peer without
// pending timers costs no memory for them. p.tmu is held.
func (p *Peer) releaseTimersLocked() {
	for _, t := range p.timers {
		if t != nil {
			t.Stop()
		}
	}
	p.timers = nil
	clear(p.pending[:])
}

func (p *Peer) timerFired(i int) {
	if !p.d.enter() {
		return
	}
	defer p.d.leave()
	p.tmu.Lock()
	if !p.timersOn || !p.pending[i] {
		p.tmu.Unlock()
		return
	}
	p.pending[i] = false
	p.tmu.Unlock()
	switch i {
	case timerRetransmitHandshake:
		p.expiredRetransmitHandshake()
	case timerSendKeepalive:
		p.sendKeepalive()
		p.tmu.Lock()
		again := p.needAnotherKeepalive
		p.needAnotherKeepalive = false
		p.tmu.Unlock()
		if again {
			p.timerMod(timerSendKeepalive, KeepaliveTimeout)
		}
	case timerNewHandshake:
		p.d.log.Verbosef("%v - Retrying handshake because we stopped hearing back after %v", p, KeepaliveTimeout+RekeyTimeout)
		p.clearEndpointSrc()
		p.sendInitiation(false)
	case timerZeroKeyMaterial:
		p.d.log.Verbosef("%v - Removing all keys, since we haven't received a new one in %v", p, RejectAfterTime*3)
		p.zeroSessions()
		// The peer has gone idle: unless a timer is still due (a
		// persistent keepalive), it goes back to costing no timers.
		p.tmu.Lock()
		if !slices.Contains(p.pending[:], true) {
			p.releaseTimersLocked()
		}
		p.tmu.Unlock()
	case timerPersistentKeepalive:
		if p.keepalive.Load() > 0 {
			p.sendKeepalive()
		}
	}
}

func (p *Peer) expiredRetransmitHandshake() {
	p.tmu.Lock()
	attempts := int(p.handshakeAttempts)
	if attempts <= MaxTimerHandshakes {
		p.handshakeAttempts++
	}
	p.tmu.Unlock()
	if attempts > MaxTimerHandshakes {
		p.d.log.Verbosef("%v - Handshake did not complete after %d attempts, giving up", p, MaxTimerHandshakes+2)
		p.timerDel(timerSendKeepalive)
		p.dropStaged()
		if !p.timerPending(timerZeroKeyMaterial) {
			p.timerMod(timerZeroKeyMaterial, RejectAfterTime*3)
		}
		return
	}
	p.d.log.Verbosef("%v - Handshake did not complete after %d seconds, retrying (try %d)", p, int(RekeyTimeout/time.Second), attempts+2)
	p.clearEndpointSrc()
	p.sendInitiation(true)
}

func (p *Peer) clearEndpointSrc() {
	p.mu.Lock()
	if p.endpoint != nil {
		p.endpoint.ClearSrc()
	}
	p.mu.Unlock()
}

// Events of §6 that drive the timers.

// timersDataSent: data was sent; expect an answer within
// KeepaliveTimeout+RekeyTimeout or start a new handshake.
func (p *Peer) timersDataSent() {
	if !p.timerPending(timerNewHandshake) {
		p.timerMod(timerNewHandshake, KeepaliveTimeout+RekeyTimeout+p.d.jitter())
	}
}

// timersDataReceived: data arrived; answer with a keepalive if we send
// nothing within KeepaliveTimeout.
func (p *Peer) timersDataReceived() {
	if !p.timerPending(timerSendKeepalive) {
		p.timerMod(timerSendKeepalive, KeepaliveTimeout)
		return
	}
	p.tmu.Lock()
	p.needAnotherKeepalive = true
	p.tmu.Unlock()
}

// timersAnyAuthenticatedPacketSent: anything we send counts as a keepalive.
func (p *Peer) timersAnyAuthenticatedPacketSent() { p.timerDel(timerSendKeepalive) }

// timersAnyAuthenticatedPacketReceived: the peer is alive.
func (p *Peer) timersAnyAuthenticatedPacketReceived() { p.timerDel(timerNewHandshake) }

func (p *Peer) timersHandshakeInitiated() {
	p.timerMod(timerRetransmitHandshake, RekeyTimeout+p.d.jitter())
}

func (p *Peer) timersHandshakeComplete() {
	p.timerDel(timerRetransmitHandshake)
	p.tmu.Lock()
	p.handshakeAttempts = 0
	p.tmu.Unlock()
	p.sentLastMinuteHandshake.Store(false)
	now := p.d.now()
	p.mu.Lock()
	p.lastHandshake = now.UnixNano()
	p.mu.Unlock()
}

func (p *Peer) timersSessionDerived() {
	p.timerMod(timerZeroKeyMaterial, RejectAfterTime*3)
}

// timersAnyAuthenticatedPacketTraversal: restart the persistent keepalive.
func (p *Peer) timersAnyAuthenticatedPacketTraversal() {
	if ka := p.keepalive.Load(); ka > 0 {
		p.timerMod(timerPersistentKeepalive, time.Duration(ka)*time.Second)
	}
}
