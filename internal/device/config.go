package device

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// Apply makes one atomic configuration change: every value is validated
// and the new listen port bound before anything changes, so a failing Apply
// leaves the device exactly as it was. Errors wrap wgtypes.ErrInvalidConfig
// for bad values and wgtypes.ErrPortInUse when the port cannot be bound.
// Applying the same Config twice is harmless.
func (d *Device) Apply(cfg *wgtypes.Config) error {
	if cfg == nil {
		return nil
	}
	endpoints, err := d.validate(cfg)
	if err != nil {
		return err
	}
	if !d.enter() {
		return ErrClosed
	}
	defer d.leave()
	d.mu.Lock()
	kick, err := d.applyLocked(cfg, endpoints)
	d.mu.Unlock()
	for _, p := range kick {
		p.sendKeepalive()
	}
	return err
}

// validate checks every value of cfg and parses its endpoints (one per
// peer, nil where unchanged).
func (d *Device) validate(cfg *wgtypes.Config) ([]bind.Endpoint, error) {
	eps := make([]bind.Endpoint, len(cfg.Peers))
	for i := range cfg.Peers {
		pc := &cfg.Peers[i]
		if pc.Remove {
			continue
		}
		if pc.ProtocolVersion != nil && *pc.ProtocolVersion != 1 {
			return nil, fmt.Errorf("peer %s: protocol version %d: %w", shortKey(pc.PublicKey), *pc.ProtocolVersion, wgtypes.ErrInvalidConfig)
		}
		for _, pfxs := range [2][]netip.Prefix{pc.AllowedIPs, pc.RemoveAllowedIPs} {
			for _, pfx := range pfxs {
				if !pfx.IsValid() {
					return nil, fmt.Errorf("peer %s: allowed IP %v: %w", shortKey(pc.PublicKey), pfx, wgtypes.ErrInvalidConfig)
				}
			}
		}
		if pc.Endpoint != nil {
			if !pc.Endpoint.Addr().IsValid() {
				return nil, fmt.Errorf("peer %s: endpoint %v: %w", shortKey(pc.PublicKey), *pc.Endpoint, wgtypes.ErrInvalidConfig)
			}
			ep, err := d.bind.ParseEndpoint(pc.Endpoint.String())
			if err != nil {
				return nil, fmt.Errorf("peer %s: endpoint %v: %w: %w", shortKey(pc.PublicKey), *pc.Endpoint, wgtypes.ErrInvalidConfig, err)
			}
			eps[i] = ep
		}
	}
	return eps, nil
}

// applyLocked changes the bind first (the only step that can fail), then
// everything else. It returns the peers owed an immediate keepalive.
func (d *Device) applyLocked(cfg *wgtypes.Config, eps []bind.Endpoint) ([]*Peer, error) {
	if d.closed {
		return nil, ErrClosed
	}
	if err := d.checkPeerLimitLocked(cfg); err != nil {
		return nil, err
	}
	if err := d.applyBindLocked(cfg); err != nil {
		return nil, err
	}
	if cfg.ReplacePeers {
		// Before a new private key, whose change would rekey these peers.
		for _, p := range d.peers {
			d.removePeerLocked(p)
		}
	}
	if cfg.PrivateKey != nil {
		d.setPrivateKeyLocked(cfg.PrivateKey.Clamped(), cfg.PrivateKey.IsZero())
	}
	var kick []*Peer
	for i := range cfg.Peers {
		pc := &cfg.Peers[i]
		if id := d.identity.Load(); id != nil && pc.PublicKey == id.Public {
			continue // a peer with our own key is ignored, as wg does
		}
		p := d.peers[pc.PublicKey]
		if pc.Remove {
			if p != nil {
				d.removePeerLocked(p)
			}
			continue
		}
		switch {
		case p == nil && pc.UpdateOnly:
			continue
		case p == nil:
			var psk noise.PresharedKey
			if pc.PresharedKey != nil {
				psk = *pc.PresharedKey
			}
			p = d.addPeerLocked(pc.PublicKey, psk)
		case pc.PresharedKey != nil:
			p.hsMu.Lock()
			p.psk = *pc.PresharedKey
			p.forgetKeysLocked()
			p.hsMu.Unlock()
		}
		if eps[i] != nil {
			p.mu.Lock()
			p.endpoint = eps[i]
			p.mu.Unlock()
		}
		if pc.PersistentKeepaliveInterval != nil {
			v := uint32(*pc.PersistentKeepaliveInterval)
			old := p.keepalive.Swap(v)
			if v != 0 && old == 0 && d.up {
				kick = append(kick, p)
			}
		}
		d.tableMu.Lock()
		if pc.ReplaceAllowedIPs {
			d.table.RemovePeer(p)
		}
		for _, pfx := range pc.RemoveAllowedIPs {
			d.table.Remove(pfx.Masked(), p)
		}
		for _, pfx := range pc.AllowedIPs {
			d.table.Insert(pfx.Masked(), p)
		}
		d.tableMu.Unlock()
	}
	return kick, nil
}

// MaxPeers returns the most peers the device holds (Options.MaxPeers).
// It makes the device a uapi.PeerLimiter.
func (d *Device) MaxPeers() int { return d.maxPeers }

// checkPeerLimitLocked refuses cfg if applying it would leave the device
// with more than its MaxPeers peers. Most changes are far from the limit:
// they are admitted by a bound counting every peer cfg names and does not
// remove as new; only near the limit is the outcome counted exactly.
func (d *Device) checkPeerLimitLocked(cfg *wgtypes.Config) error {
	have := len(d.peers)
	if cfg.ReplacePeers {
		have = 0
	}
	bound := have
	for i := range cfg.Peers {
		if !cfg.Peers[i].Remove {
			bound++
		}
	}
	if bound <= d.maxPeers {
		return nil
	}
	// Exactly: follow each named key's presence through the change.
	var own noise.PublicKey
	if id := d.identity.Load(); id != nil {
		own = id.Public
	}
	n := have
	if cfg.PrivateKey != nil && !cfg.PrivateKey.IsZero() {
		own = cfg.PrivateKey.Clamped().PublicKey()
		if _, ok := d.peers[own]; ok && !cfg.ReplacePeers {
			n-- // setPrivateKeyLocked removes it
		}
	}
	present := map[noise.PublicKey]bool{own: false}
	for i := range cfg.Peers {
		pc := &cfg.Peers[i]
		if pc.PublicKey == own {
			continue
		}
		was, seen := present[pc.PublicKey]
		if !seen {
			_, was = d.peers[pc.PublicKey]
			was = was && !cfg.ReplacePeers
		}
		now := was
		switch {
		case pc.Remove:
			now = false
		case !pc.UpdateOnly:
			now = true
		}
		present[pc.PublicKey] = now
		switch {
		case now && !was:
			n++
		case was && !now:
			n--
		}
	}
	if n > d.maxPeers {
		return fmt.Errorf("%d peers would exceed the device's limit of %d: %w: %w", n, d.maxPeers, ErrTooManyPeers, wgtypes.ErrInvalidConfig)
	}
	return nil
}

// applyBindLocked rebinds for a new listen port and applies the fwmark,
// restoring the old socket if the new port cannot be bound.
func (d *Device) applyBindLocked(cfg *wgtypes.Config) error {
	port, mark := d.listenPort, d.fwmark
	if cfg.ListenPort != nil {
		port = *cfg.ListenPort
	}
	if cfg.FwMark != nil {
		mark = *cfg.FwMark
	}
	if !d.up {
		d.listenPort, d.fwmark = port, mark
		return nil
	}
	if port != d.listenPort {
		oldMark, oldBound := d.fwmark, d.boundPort
		d.closeBindLocked()
		d.fwmark = mark
		if err := d.openBindLocked(port); err != nil {
			d.fwmark = oldMark
			if rerr := d.openBindLocked(oldBound); rerr != nil {
				d.log.Errorf("reopen port %d: %v", oldBound, rerr)
			}
			return err
		}
		d.listenPort = port
		return nil
	}
	if mark != d.fwmark {
		if err := d.bind.SetMark(mark); err != nil {
			return fmt.Errorf("set fwmark %d: %w", mark, err)
		}
		d.fwmark = mark
	}
	return nil
}

// setPrivateKeyLocked replaces the identity, recomputing every peer's keys
// and dropping their sessions, which belonged to the old key.
func (d *Device) setPrivateKeyLocked(priv noise.PrivateKey, remove bool) {
	old := d.identity.Load()
	if old != nil && !remove && old.Private == priv {
		return
	}
	if old == nil && remove {
		return
	}
	d.identity.Store(nil)
	d.checker.Store(nil)
	if !remove {
		id := noise.NewIdentity(priv)
		d.identity.Store(id)
		d.checker.Store(noise.NewCookieChecker(id.Public, d.rand))
		if p := d.peers[id.Public]; p != nil {
			d.removePeerLocked(p)
		}
	}
	// Every peer's keys belonged to the old identity: forget them (the
	// next handshake computes them again).
	for _, p := range d.peers {
		p.zeroSessions()
		p.hsMu.Lock()
		p.forgetKeysLocked()
		p.hsMu.Unlock()
	}
	if old != nil {
		old.Zero()
	}
}

// addPeerLocked creates the peer pub with the preshared key psk. Its keys
// are computed on its first handshake (peerKeysLocked).
func (d *Device) addPeerLocked(pub noise.PublicKey, psk noise.PresharedKey) *Peer {
	p := newPeer(d, pub)
	p.psk = psk
	d.peers[pub] = p
	d.peerCount.Store(int64(len(d.peers)))
	if d.up {
		p.timersStart()
	}
	d.log.Verbosef("%v - Created", p)
	return p
}

func (d *Device) removePeerLocked(p *Peer) {
	delete(d.peers, p.pub)
	d.peerCount.Store(int64(len(d.peers)))
	d.tableMu.Lock()
	d.table.RemovePeer(p)
	d.tableMu.Unlock()
	p.destroy()
	d.log.Verbosef("%v - Removed", p)
}

// State returns a snapshot of the configuration and statistics, peers in
// the order of their public keys.
func (d *Device) State() *wgtypes.Device {
	var s wgtypes.Device
	d.StreamState(func(dev *wgtypes.Device) error {
		s = *dev
		s.Peers = make([]wgtypes.Peer, 0, d.peerCount.Load())
		return nil
	}, func(p *wgtypes.Peer) error {
		ps := *p
		ps.AllowedIPs = slices.Clone(p.AllowedIPs)
		s.Peers = append(s.Peers, ps)
		return nil
	})
	return &s
}

// StreamState hands out the state as State does, one peer at a time, so
// that a UAPI get of many peers is never built whole in memory (it makes
// the device a uapi.StateStreamer). The set of peers is a snapshot taken
// under the device's lock; each peer's values are read when its turn
// comes, and a peer removed meanwhile is left out. The lock is not held
// while dev and peer run, so a slow reader holds up neither Apply nor
// handshakes. The values passed are reused from call to call.
func (d *Device) StreamState(dev func(*wgtypes.Device) error, peer func(*wgtypes.Peer) error) error {
	type ref struct {
		k uint64 // the key's first 8 bytes, big-endian: most comparisons end here
		p *Peer
	}
	d.mu.RLock()
	s := wgtypes.Device{ListenPort: d.listenPort, FwMark: d.fwmark}
	if d.up {
		s.ListenPort = d.boundPort
	}
	if id := d.identity.Load(); id != nil {
		s.PrivateKey = id.Private
		s.PublicKey = id.Public
	}
	refs := make([]ref, 0, len(d.peers))
	for _, p := range d.peers {
		refs = append(refs, ref{binary.BigEndian.Uint64(p.pub[:8]), p})
	}
	d.mu.RUnlock()
	defer s.PrivateKey.Zero()
	slices.SortFunc(refs, func(a, b ref) int {
		if c := cmp.Compare(a.k, b.k); c != 0 {
			return c
		}
		return bytes.Compare(a.p.pub[:], b.p.pub[:])
	})
	if err := dev(&s); err != nil {
		return err
	}
	var ps wgtypes.Peer
	var ips []netip.Prefix
	for i := range refs {
		p := refs[i].p
		refs[i].p = nil
		// A removed peer has no keys (destroy): only a peer without keys
		// needs the map to tell whether it is still there.
		p.hsMu.Lock()
		psk, noKeys := p.psk, p.keys == nil
		p.hsMu.Unlock()
		if noKeys {
			d.mu.RLock()
			live := d.peers[p.pub] == p
			d.mu.RUnlock()
			if !live {
				psk.Zero()
				continue // removed since the snapshot
			}
		}
		ps = wgtypes.Peer{
			PublicKey:                   p.pub,
			PersistentKeepaliveInterval: uint16(p.keepalive.Load()),
			RxBytes:                     p.rxBytes.Load(),
			TxBytes:                     p.txBytes.Load(),
			ProtocolVersion:             1,
		}
		d.tableMu.RLock()
		ips = d.table.AppendPrefixes(ips[:0], p)
		d.tableMu.RUnlock()
		ps.AllowedIPs = ips
		ps.PresharedKey = psk
		psk.Zero()
		p.mu.Lock()
		if p.endpoint != nil {
			ps.Endpoint = p.endpoint.DstAddrPort()
		}
		if p.lastHandshake != 0 {
			ps.LastHandshakeTime = time.Unix(0, p.lastHandshake)
		}
		p.mu.Unlock()
		err := peer(&ps)
		ps.PresharedKey.Zero()
		if err != nil {
			return err
		}
	}
	return nil
}
