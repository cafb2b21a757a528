package manager

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
)

// expiryCheckEvery bounds the wait between two expiry checks, so that a
// clock that jumps (a suspended machine, a corrected time) is noticed
// within it, and a device that refused a removal is retried.
const expiryCheckEvery = time.Minute

// expiryRetry is how soon a check that found a tunnel busy tries again.
const expiryRetry = 5 * time.Second

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
		unlock, err := m.lock(tunnel)
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

// expireTunnel runs the expiry check of one tunnel, whose lock the caller
// holds, and returns the next expiry among its clients.
func (m *Manager) expireTunnel(tunnel string) time.Time {
	st, err := m.clients.read(tunnel)
	if err != nil || len(st.Clients) == 0 {
		return time.Time{}
	}
	data, err := m.store.Read(tunnel)
	if errors.Is(err, ErrNotFound) {
		return time.Time{} // the configuration is gone; Delete drops the state
	}
	if err != nil {
		m.Logf(LogTagTunnel, "client expiry of %s: %v", tunnel, err)
		return m.now().Add(expiryCheckEvery)
	}
	f, err := parseConfig(tunnel, data)
	clear(data)
	if err != nil {
		m.Logf(LogTagTunnel, "client expiry of %s: the configuration does not parse: %v", tunnel, err)
		return m.now().Add(expiryCheckEvery)
	}
	inFile := map[noise.PublicKey]*conf.Peer{}
	for i := range f.Peers {
		inFile[f.Peers[i].PublicKey] = &f.Peers[i]
	}
	now := m.now()
	var next time.Time
	var due, gone, back []noise.PublicKey
	for key, rec := range st.Clients {
		pub, err := parsePub(key)
		if err != nil {
			continue
		}
		_, present := inFile[pub]
		switch {
		case rec.Disabled != nil && present:
			back = append(back, pub)
		case rec.Disabled != nil:
			m.removeFromDevice(tunnel, pub)
		case !present:
			gone = append(gone, pub)
		case !rec.Expires.IsZero() && !now.Before(rec.Expires):
			due = append(due, pub)
		case !rec.Expires.IsZero():
			if next.IsZero() || rec.Expires.Before(next) {
				next = rec.Expires
			}
		}
	}
	if len(gone)+len(back) > 0 {
		m.clients.update(tunnel, func(t *tunnelState) error {
			for _, pub := range gone {
				if r := t.Clients[keyOf(pub)]; r != nil && r.Disabled == nil {
					delete(t.Clients, keyOf(pub))
				}
			}
			for _, pub := range back {
				if r := t.Clients[keyOf(pub)]; r != nil {
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
		for _, pub := range back {
			m.Logf(LogTagTunnel, "client %s of %s is back in the configuration: enabled", pub, tunnel)
		}
	}
	for _, pub := range due {
		if err := m.disableLocked(tunnel, pub, ReasonExpired); err != nil {
			m.Logf(LogTagTunnel, "expiring client %s of %s: %v", pub, tunnel, err)
			if next.IsZero() || now.Add(expiryCheckEvery).Before(next) {
				next = now.Add(expiryCheckEvery)
			}
		}
	}
	return next
}
