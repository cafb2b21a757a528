package bind

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

// routeOS is what following the default route needs of the system: read a
// family's routing table, and pin a family's socket to an interface index.
// Windows provides it through the IP Helper API; tests fake it.
type routeOS struct {
	table func(Family) (RouteTable, error)
	pin   func(Family, uint32) error
}

// follower keeps the sockets of the families it pins bound to the best
// physical default route's interface, and shuts a family's send gate while
// that family has none. Updates run on one goroutine, so that a burst of
// system notifications costs one or two table reads, never a pile of
// goroutines; their errors go to onError.
type follower struct {
	os      routeOS
	exclude uint64 // the tunnel adapter's LUID
	pinned  [2]bool
	gate    *sendGate
	onError func(error)

	mu     sync.Mutex // serialises update
	pinIdx [2]uint32  // the index each family's socket is pinned to; 0 none

	kick chan struct{} // capacity 1: an update is pending
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// newFollower makes a follower and runs its first update synchronously,
// returning that update's error; it does not start the goroutine (start).
func newFollower(os routeOS, exclude uint64, v4, v6 bool, gate *sendGate, onError func(error)) (*follower, error) {
	f := &follower{
		os: os, exclude: exclude, pinned: [2]bool{v4, v6}, gate: gate, onError: onError,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if err := f.update(); err != nil {
		return nil, err
	}
	return f, nil
}

// start runs the update goroutine until close.
func (f *follower) start() {
	go func() {
		defer close(f.done)
		for {
			select {
			case <-f.stop:
				return
			case <-f.kick:
			}
			if err := f.update(); err != nil && f.onError != nil {
				f.onError(err)
			}
		}
	}()
}

// changed asks for an update soon; it never blocks.
func (f *follower) changed() {
	select {
	case f.kick <- struct{}{}:
	default: // one is pending already, and it reads the table afresh
	}
}

// routeChanged is told of a change to the route to prefix: only default
// routes of a pinned family feed DefaultInterface, so only they ask for an
// update. (Interface changes, up/down and metrics, always do: changed.)
func (f *follower) routeChanged(prefix netip.Prefix) {
	if prefix.IsValid() && prefix.Bits() == 0 && f.pinned[familyOf(prefix.Addr())] {
		f.changed()
	}
}

// close stops the goroutine and waits for it. The sockets stay as they
// are; so does the gate.
func (f *follower) close() {
	f.once.Do(func() { close(f.stop) })
	<-f.done
}

// update reads each pinned family's table, pins its socket to the best
// physical default interface and opens its gate, or shuts the gate when
// there is none. A family's gate is open only while its socket is pinned
// to a physical interface that has a default route, so a failure to pin
// (the error is returned) leaves the previous pin, and gate, in place.
func (f *follower) update() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for fam := IPv4; fam <= IPv6; fam++ {
		if !f.pinned[fam] {
			continue
		}
		t, err := f.os.table(fam)
		if err != nil {
			errs = append(errs, fmt.Errorf("default route: read the %v routing table: %w", fam, err))
			if f.pinIdx[fam] == 0 {
				f.gate.shut(fam)
			}
			continue
		}
		c, ok := DefaultInterface(t, f.exclude)
		if !ok {
			// Not unpinned: a send that passed the gate just now still
			// leaves by the old interface, not into the tunnel.
			f.gate.shut(fam)
			continue
		}
		if c.Index != f.pinIdx[fam] {
			if err := f.os.pin(fam, c.Index); err != nil {
				errs = append(errs, fmt.Errorf("default route: pin the %v socket to interface %d: %w", fam, c.Index, err))
				if f.pinIdx[fam] == 0 {
					f.gate.shut(fam)
				}
				continue
			}
			f.pinIdx[fam] = c.Index
		}
		f.gate.open(fam)
	}
	return errors.Join(errs...)
}
