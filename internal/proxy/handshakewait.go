package proxy

import (
	"context"
	"net/netip"
	"time"

	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// hasSession reports whether p's last handshake, at now, still gives it a
// session that packets can use (REJECT_AFTER_TIME).
func hasSession(p *wgtypes.Peer, now time.Time) bool {
	return !p.LastHandshakeTime.IsZero() && now.Sub(p.LastHandshakeTime) < device.RejectAfterTime
}

// awaitHandshake returns ctx ended, with cause ErrNoHandshake, at
// waitUntil on the tunnel's clock if none of peers has a session by
// then, so that a connection through a peer that does not answer fails
// then rather than at the dial timeout. Nothing is watched when one of
// them has a session already. stop releases the watch.
func (t *Tunnel) awaitHandshake(ctx context.Context, peers []*wgtypes.Peer, waitUntil time.Time) (_ context.Context, stop func()) {
	now := t.clock.Now()
	keys := make([]noise.PublicKey, 0, len(peers))
	for _, p := range peers {
		if hasSession(p, now) {
			return ctx, func() {}
		}
		keys = append(keys, p.PublicKey)
	}
	if len(keys) == 0 {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	check := func() {
		if !t.anySession(keys) {
			cancel(ErrNoHandshake)
		}
	}
	if waitUntil.After(now) {
		timer := t.clock.AfterFunc(waitUntil.Sub(now), check)
		return ctx, func() { timer.Stop(); cancel(nil) }
	}
	check()
	return ctx, func() { cancel(nil) }
}

// anySession reports whether one of the peers keys names has a session
// now.
func (t *Tunnel) anySession(keys []noise.PublicKey) bool {
	now := t.clock.Now()
	for _, p := range t.Dev.State().Peers {
		for _, k := range keys {
			if p.PublicKey == k && hasSession(&p, now) {
				return true
			}
		}
	}
	return false
}

// handshakeError describes the peer with public key key (base64) if it
// has no session: its endpoint and the initiations sent to it since its
// last handshake. It returns nil if the peer has a session or is gone.
func (t *Tunnel) handshakeError(key string) *HandshakeError {
	for _, p := range t.Dev.State().Peers {
		if p.PublicKey.String() == key {
			return t.describeNoSession(&p)
		}
	}
	return nil
}

func (t *Tunnel) describeNoSession(p *wgtypes.Peer) *HandshakeError {
	if hasSession(p, t.clock.Now()) {
		return nil
	}
	hs := &HandshakeError{Peer: p.PublicKey.String()}
	if p.Endpoint.IsValid() {
		hs.Endpoint = p.Endpoint.String()
		hs.Attempts, hs.AtLeast, hs.SendErr = t.initiations.since(p.Endpoint, p.LastHandshakeTime)
	}
	return hs
}

// dnsHandshakeError is, when no DNS server's peer has a session, the
// first server that routes to a peer and that peer's HandshakeError; the
// zero Addr and nil otherwise.
func (t *Tunnel) dnsHandshakeError() (netip.Addr, *HandshakeError) {
	st := t.Dev.State()
	var server netip.Addr
	var hs *HandshakeError
	for _, s := range t.dns {
		p, _ := peerFor(st, t.Net.Addresses(), s)
		if p == nil {
			continue
		}
		e := t.describeNoSession(p)
		if e == nil {
			return netip.Addr{}, nil
		}
		if hs == nil {
			server, hs = s, e
		}
	}
	return server, hs
}
