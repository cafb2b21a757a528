package manager

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
)

// expiryCheckEvery bounds the wait between two expiry checks, so that a
// clock that jumps (a suspended machine, a corrected time) is noticed
// within it, and a device that refused a removal is retried.
const expiryCheckEvery = time.Minute

// expiryRetry is how soon a check that found a tunnel busy tries again.
const expiryRetry = 5 * time.Second

// expiryLockWait is how long the check waits for a busy tunnel (another
// check, an edit) before it leaves it for expiryRetry.
const expiryLockWait = 2 * time.Second

// startClients opens the client state and starts the expiry loop, which
// runs until ctx ends: one check at once (clients that expired while the
// manager was not running), then one at each client's expiry and at least
// every expiryCheckEvery. stopClients waits for it to end.
func (m *Manager) startClients(ctx context.Context) {
	m.clients = newClientState(m.stateDir)
	go func() {
		defer close(m.clients.done)
		for {
			next := m.ExpireClients(ctx)
			wait := expiryCheckEvery
			if !next.IsZero() {
				wait = min(max(next.Sub(m.now()), 0), expiryCheckEvery)
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-m.clients.wake:
				t.Stop()
			case <-t.C:
			}
		}
	}()
}

// stopClients waits for the expiry loop that startClients started to end
// (its context has been cancelled).
func (m *Manager) stopClients() { <-m.clients.done }

// wakeExpiry makes the expiry loop look again at once.
func (m *Manager) wakeExpiry() {
	select {
	case m.clients.wake <- struct{}{}:
	default:
	}
}

// ExpireClients disables every client whose expiry has come, and tidies
// the clients' state against the configurations: a disabled client's peer
// still on a running device is removed from it (a removal that failed
// before), a disabled client whose section an administrator put back in
// the configuration counts as enabled again, and a client whose peer was
// edited out of the configuration is forgotten. It returns when it should
// run next (zero: no client expires). The manager runs it by itself (see
// startClients); it is exported for front ends and tests.
func (m *Manager) ExpireClients(ctx context.Context) time.Time {
	tunnels, err := m.clients.tunnels()
	if err != nil {
		m.Logf(LogTagTunnel, "client expiry: %v", err)
		return m.now().Add(expiryCheckEvery)
	}
	slices.Sort(tunnels)
	var next time.Time
	sooner := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, tunnel := range tunnels {
		if ctx.Err() != nil {
			break
		}
		// Looking takes no lock, so that the check does not make an
		// administrator's change fail as busy; only a tunnel with
		// something to do is locked, and looked at again under the lock.
		p := m.planExpiry(tunnel)
		if p.idle() {
			if !p.next.IsZero() {
				sooner(p.next)
			}
			continue
		}
		unlock, err := m.lockSoon(ctx, tunnel)
		if errors.Is(err, ErrBusy) {
			sooner(m.now().Add(expiryRetry))
			continue
		}
		if err != nil {
			continue
		}
		if t := m.expireTunnel(tunnel); !t.IsZero() {
			sooner(t)
		}
		unlock()
	}
	return next
}

// lockSoon is lock that waits up to expiryLockWait for a busy tunnel.
func (m *Manager) lockSoon(ctx context.Context, tunnel string) (func(), error) {
	deadline := time.Now().Add(expiryLockWait)
	for {
		unlock, err := m.lockAs(tunnel, holderExpiry)
		if !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
			return unlock, err
		}
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// expiryPlan is what the expiry check found to do for one tunnel.
type expiryPlan struct {
	// next is the earliest expiry still to come (zero: none).
	next time.Time
	// due expired; gone were edited out of the configuration; back are
	// disabled but in the configuration again; stray are disabled but
	// still on the running device.
	due, gone, back, stray []noise.PublicKey
}

func (p *expiryPlan) idle() bool { return len(p.due)+len(p.gone)+len(p.back)+len(p.stray) == 0 }

// planExpiry looks at one tunnel's clients, its configuration and its
// device, and changes nothing. A configuration that cannot be read is
// looked at again within expiryCheckEvery.
func (m *Manager) planExpiry(tunnel string) expiryPlan {
	var p expiryPlan
	st, err := m.clients.read(tunnel)
	if err != nil || len(st.Clients) == 0 {
		return p
	}
	data, err := m.store.Read(tunnel)
	if errors.Is(err, ErrNotFound) {
		return p // the configuration is gone; Delete drops the state
	}
	if err != nil {
		m.Logf(LogTagTunnel, "client expiry of %s: %v", tunnel, err)
		p.next = m.now().Add(expiryCheckEvery)
		return p
	}
	f, err := parseConfig(tunnel, data)
	clear(data)
	if err != nil {
		m.Logf(LogTagTunnel, "client expiry of %s: the configuration does not parse: %v", tunnel, err)
		p.next = m.now().Add(expiryCheckEvery)
		return p
	}
	inFile := map[noise.PublicKey]bool{}
	for _, fp := range f.Peers {
		inFile[fp.PublicKey] = true
	}
	onDevice := map[noise.PublicKey]bool{}
	if dev, err := m.sys.Device(tunnel); err == nil {
		for _, dp := range dev.Peers {
			onDevice[dp.PublicKey] = true
		}
	}
	now := m.now()
	for key, rec := range st.Clients {
		pub, err := parsePub(key)
		if err != nil {
			continue
		}
		switch {
		case rec.Disabled != nil && inFile[pub]:
			p.back = append(p.back, pub)
		case rec.Disabled != nil && onDevice[pub]:
			p.stray = append(p.stray, pub)
		case rec.Disabled != nil:
		case !inFile[pub]:
			p.gone = append(p.gone, pub)
		case !rec.Expires.IsZero() && !now.Before(rec.Expires):
			p.due = append(p.due, pub)
		case !rec.Expires.IsZero():
			if p.next.IsZero() || rec.Expires.Before(p.next) {
				p.next = rec.Expires
			}
		}
	}
	return p
}

// expireTunnel carries out the expiry check of one tunnel, whose lock the
// caller holds, and returns when to look again.
func (m *Manager) expireTunnel(tunnel string) time.Time {
	p := m.planExpiry(tunnel)
	next := p.next
	for _, pub := range p.stray {
		m.removeFromDevice(tunnel, pub)
	}
	if len(p.gone)+len(p.back) > 0 {
		m.clients.update(tunnel, func(t *tunnelState) error {
			for _, pub := range p.gone {
				if r := t.Clients[keyOf(pub)]; r != nil && r.Disabled == nil {
					delete(t.Clients, keyOf(pub))
				}
			}
			for _, pub := range p.back {
				if r := t.Clients[keyOf(pub)]; r != nil && r.Disabled != nil {
					// Put back by hand: enabled, and an expiry that had
					// passed no longer applies.
					if r.Disabled.Reason == ReasonExpired {
						r.Expires = time.Time{}
					}
					r.Disabled = nil
				}
			}
			return nil
		})
		for _, pub := range p.back {
			m.Logf(LogTagTunnel, "client %s of %s is back in the configuration: enabled", pub, tunnel)
		}
	}
	now := m.now()
	for _, pub := range p.due {
		if err := m.disableLocked(tunnel, pub, ReasonExpired); err != nil {
			m.Logf(LogTagTunnel, "expiring client %s of %s: %v", pub, tunnel, err)
			if next.IsZero() || now.Add(expiryCheckEvery).Before(next) {
				next = now.Add(expiryCheckEvery)
			}
		}
	}
	return next
}
