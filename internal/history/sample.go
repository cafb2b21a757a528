package history

import (
	"fmt"
	"math"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// Record adds one sample: the devices the sampler read at time at, by
// interface name, with each peer's cumulative counters.
//
// The map must list every interface the sampler found. An interface that
// was found but could not be read is listed with a nil *wgtypes.Device: its
// peers' counters are kept as they were. An interface missing from the map
// is taken to be gone, as is a peer missing from its listed device: their
// counters restart from zero when they come back (a restarted tunnel, a
// peer removed and added again), so all their next counters count as new
// traffic.
//
// A peer's traffic in the interval is the growth of its counters since the
// previous sample. Counters that went down, or a latest handshake that
// went back to none, mean the device restarted: the traffic is then the
// new counters (the bytes of the old device after the previous sample are
// lost, and none counted twice). A peer seen for the first time only sets
// the baseline, so starting the manager next to a tunnel that has run for
// a month does not put a month of bytes into one bucket.
//
// Samples may come as often as the caller likes; their traffic is written
// once per bucket of the finest tier. A time before the previous sample's
// (the clock went back) is accepted: the traffic lands in the bucket of the
// new time and later buckets are folded into it, so totals stay right and
// nothing is dated in the future. Record returns ErrInvalidSample for a
// sample it cannot take, having applied nothing.
func (s *Store) Record(at time.Time, devices map[string]*wgtypes.Device) error {
	sec := at.Unix()
	if at.IsZero() || sec < 0 {
		return fmt.Errorf("%w: time %v is before 1970", ErrInvalidSample, at)
	}
	for name, d := range devices {
		if name == "" || len(name) > maxInterfaceName {
			return fmt.Errorf("%w: interface name %q is empty or longer than %d bytes", ErrInvalidSample, name, maxInterfaceName)
		}
		if d == nil {
			continue
		}
		seen := make(map[noise.PublicKey]bool, len(d.Peers))
		for _, p := range d.Peers {
			if seen[p.PublicKey] {
				return fmt.Errorf("%w: interface %s lists peer %s twice", ErrInvalidSample, name, p.PublicKey)
			}
			seen[p.PublicKey] = true
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	newPeers := uint64(0)
	for name, d := range devices {
		if d == nil {
			continue
		}
		for _, p := range d.Peers {
			if s.peers[peerKey{name, p.PublicKey}] == nil {
				newPeers++
			}
		}
	}
	if uint64(s.nextID)+newPeers > math.MaxUint32 {
		return fmt.Errorf("%w: peer ids exhausted", ErrInvalidSample)
	}
	finest := s.tiers[0]
	if s.hasPending && finest.slot(sec) != finest.slot(s.pendingAt) {
		if err := s.flushLocked(); err != nil {
			return err
		}
	}
	if s.hasWritten && finest.slot(sec) < finest.slot(s.writtenAt) {
		if err := s.foldLocked(sec); err != nil {
			return err
		}
	}

	seen := map[uint32]bool{}
	for name, d := range devices {
		if d == nil {
			continue
		}
		for i := range d.Peers {
			seen[s.observe(name, &d.Peers[i], sec)] = true
		}
	}
	for _, p := range s.byID {
		if d, listed := devices[p.key.iface]; listed && d == nil {
			continue // found but unreadable: keep its counters
		}
		if p.known && !seen[p.id] {
			p.known = false
			p.dirty = true
		}
	}
	s.pendingAt = sec
	s.hasPending = true
	return nil
}

// observe applies one peer's counters and returns its id.
func (s *Store) observe(iface string, peer *wgtypes.Peer, sec int64) uint32 {
	hs := int64(0)
	if !peer.LastHandshakeTime.IsZero() {
		hs = peer.LastHandshakeTime.UnixNano()
	}
	key := peerKey{iface, peer.PublicKey}
	p := s.peers[key]
	if p == nil {
		// First sight: the counters are the baseline.
		p = &peerState{id: s.nextID, key: key, known: true, rx: peer.RxBytes, tx: peer.TxBytes}
		s.nextID++
		s.peers[key] = p
		s.byID[p.id] = p
	}
	rx, tx := peer.RxBytes-p.rx, peer.TxBytes-p.tx
	if !p.known || peer.RxBytes < p.rx || peer.TxBytes < p.tx || (p.handshake != 0 && hs == 0) {
		rx, tx = peer.RxBytes, peer.TxBytes
	}
	if rx != 0 || tx != 0 {
		e := s.pending[p.id]
		if e == nil {
			e = &entry{id: p.id}
			s.pending[p.id] = e
		}
		e.rx, e.tx = addSat(e.rx, rx), addSat(e.tx, tx)
	}
	p.rx, p.tx, p.handshake, p.lastSeen, p.known, p.dirty = peer.RxBytes, peer.TxBytes, hs, sec, true, true
	return p.id
}
