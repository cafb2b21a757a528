package bind

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
)

// fakeHost is a routing table per family and the sockets' pins, as the
// follower sees them through routeOS.
type fakeHost struct {
	mu      sync.Mutex
	tables  [2]RouteTable
	readErr error
	pinErr  error
	reads   int
	pins    []string // "IPv4 10", in order
	block   chan struct{}
}

func (h *fakeHost) os() routeOS {
	return routeOS{
		table: func(f Family) (RouteTable, error) {
			if h.block != nil {
				<-h.block
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			h.reads++
			if h.readErr != nil {
				return RouteTable{}, h.readErr
			}
			t := h.tables[f]
			return RouteTable{Routes: slices.Clone(t.Routes), Interfaces: slices.Clone(t.Interfaces)}, nil
		},
		pin: func(f Family, index uint32) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.pinErr != nil {
				return h.pinErr
			}
			h.pins = append(h.pins, fmt.Sprintf("%v %d", f, index))
			return nil
		},
	}
}

func (h *fakeHost) set(f func(h *fakeHost)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

func (h *fakeHost) state() (reads int, pins []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reads, slices.Clone(h.pins)
}

var (
	ethernet4 = Interface{LUID: 0x10, Index: 10, Up: true, Metric: 25}
	wifi4     = Interface{LUID: 0x20, Index: 20, Up: true, Metric: 35}
	tunnel4   = Interface{LUID: tunnelLUID, Index: 77, Up: true, Metric: 5}
)

// onlyTunnel is a host whose only IPv4 default route is the tunnel's own,
// as when the physical network is gone while the tunnel is up.
func onlyTunnel() RouteTable {
	return RouteTable{Routes: []Route{defaultRoute4(tunnelLUID, 0)}, Interfaces: []Interface{tunnel4, ethernet4}}
}

// TestFollowerBlackhole: with no physical default route, a family that must
// be pinned drops its sends (the socket is not unpinned into the routing
// table, which would loop them into the tunnel); when a default route
// appears, the socket is pinned to it and sends resume.
func TestFollowerBlackhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{}
		host.tables[IPv4] = onlyTunnel()
		var gate sendGate
		var rep reports
		gate.setReport(rep.add)
		f, err := newFollower(host.os(), tunnelLUID, true, false, &gate, rep.add)
		if err != nil {
			t.Fatalf("newFollower: %v", err)
		}
		f.start()
		defer f.close()

		if _, pins := host.state(); len(pins) != 0 {
			t.Errorf("pins %q with no physical default route, want none (not unpinned to 0 either)", pins)
		}
		fake := &fakeSend{}
		ep := mustEndpoint(t, "203.0.113.7:51820")
		if err := gate.send([][]byte{nil}, ep, fake.send); err != nil || fake.count() != 0 {
			t.Fatalf("send with no default route: err %v, %d reached the socket; want nil, 0 (dropped)", err, fake.count())
		}
		if errs := rep.get(); len(errs) != 1 || !errors.Is(errs[0], ErrNoDefaultRoute) {
			t.Errorf("reports %v, want one ErrNoDefaultRoute", errs)
		}

		// The Ethernet's default route comes (back).
		host.set(func(h *fakeHost) {
			h.tables[IPv4].Routes = append(h.tables[IPv4].Routes, defaultRoute4(0x10, 0))
		})
		f.routeChanged(netip.MustParsePrefix("0.0.0.0/0"))
		synctest.Wait()
		if _, pins := host.state(); !slices.Equal(pins, []string{"IPv4 10"}) {
			t.Errorf("pins %q after a default route appeared, want [IPv4 10]", pins)
		}
		if err := gate.send([][]byte{nil}, ep, fake.send); err != nil || fake.count() != 1 {
			t.Errorf("send after the default route appeared: err %v, %d sent; want nil, 1", err, fake.count())
		}

		// It goes away again: drop again, keep the pin, report again.
		host.set(func(h *fakeHost) { h.tables[IPv4] = onlyTunnel() })
		f.routeChanged(netip.MustParsePrefix("0.0.0.0/0"))
		synctest.Wait()
		gate.send([][]byte{nil}, ep, fake.send)
		if fake.count() != 1 || gate.dropped(IPv4) != 2 {
			t.Errorf("after the default route went: %d sent, %d dropped; want 1, 2", fake.count(), gate.dropped(IPv4))
		}
		if _, pins := host.state(); !slices.Equal(pins, []string{"IPv4 10"}) {
			t.Errorf("pins %q, want the old pin kept: [IPv4 10]", pins)
		}
		if n := len(rep.get()); n != 2 {
			t.Errorf("%d reports, want 2 (one per blackhole)", n)
		}
	})
}

// TestFollowerRepins: interface state and metric changes move the pin;
// route changes that cannot change the answer do not read the table.
func TestFollowerRepins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{}
		host.tables[IPv4] = RouteTable{
			Routes:     []Route{defaultRoute4(0x10, 0), defaultRoute4(0x20, 0), defaultRoute4(tunnelLUID, 0)},
			Interfaces: []Interface{ethernet4, wifi4, tunnel4},
		}
		var gate sendGate
		var rep reports
		f, err := newFollower(host.os(), tunnelLUID, true, false, &gate, rep.add)
		if err != nil {
			t.Fatal(err)
		}
		f.start()
		defer f.close()
		reads, pins := host.state()
		if !slices.Equal(pins, []string{"IPv4 10"}) || reads != 1 {
			t.Fatalf("first update: %d reads, pins %q; want 1, [IPv4 10]", reads, pins)
		}

		// Routes that are not default routes, and default routes of a
		// family that is not pinned, cannot change the choice.
		f.routeChanged(netip.MustParsePrefix("192.168.1.0/24"))
		f.routeChanged(netip.MustParsePrefix("0.0.0.0/1"))
		f.routeChanged(netip.MustParsePrefix("::/0"))
		f.routeChanged(netip.Prefix{})
		synctest.Wait()
		if reads, _ := host.state(); reads != 1 {
			t.Errorf("%d table reads after irrelevant route changes, want still 1", reads)
		}

		// Ethernet goes down: Wi-Fi.
		host.set(func(h *fakeHost) { h.tables[IPv4].Interfaces[0].Up = false })
		f.changed()
		synctest.Wait()
		// Ethernet up again with a worse metric than Wi-Fi: stays on Wi-Fi.
		host.set(func(h *fakeHost) {
			h.tables[IPv4].Interfaces[0].Up = true
			h.tables[IPv4].Interfaces[0].Metric = 50
		})
		f.changed()
		synctest.Wait()
		// Wi-Fi's metric rises: Ethernet.
		host.set(func(h *fakeHost) { h.tables[IPv4].Interfaces[1].Metric = 100 })
		f.changed()
		synctest.Wait()
		if _, pins := host.state(); !slices.Equal(pins, []string{"IPv4 10", "IPv4 20", "IPv4 10"}) {
			t.Errorf("pins %q, want [IPv4 10, IPv4 20, IPv4 10] (no pin when the choice is unchanged)", pins)
		}
		if gate.isShut(IPv4) || gate.isShut(IPv6) {
			t.Error("a gate is shut while IPv4 has a default route and IPv6 is not pinned")
		}
		if errs := rep.get(); len(errs) != 0 {
			t.Errorf("reports %v, want none", errs)
		}
	})
}

// TestFollowerErrors: the first update's failure is returned; later ones
// go to onError; a family never pinned stays dropped when pinning fails,
// and one already pinned keeps its pin and keeps sending.
func TestFollowerErrors(t *testing.T) {
	t.Run("first read", func(t *testing.T) {
		host := &fakeHost{readErr: errors.New("GetIPForwardTable2: out of memory")}
		var gate sendGate
		if _, err := newFollower(host.os(), tunnelLUID, true, true, &gate, nil); !errors.Is(err, host.readErr) {
			t.Fatalf("newFollower = %v, want the read error", err)
		}
		if !gate.isShut(IPv4) || !gate.isShut(IPv6) {
			t.Error("a family that could not be pinned is not dropped")
		}
	})
	t.Run("first pin", func(t *testing.T) {
		host := &fakeHost{pinErr: errors.New("setsockopt: WSAEINVAL")}
		host.tables[IPv4] = RouteTable{Routes: []Route{defaultRoute4(0x10, 0)}, Interfaces: []Interface{ethernet4}}
		var gate sendGate
		if _, err := newFollower(host.os(), tunnelLUID, true, false, &gate, nil); !errors.Is(err, host.pinErr) {
			t.Fatalf("newFollower = %v, want the pin error", err)
		}
		if !gate.isShut(IPv4) {
			t.Error("IPv4 sends pass although the socket could not be pinned")
		}
	})
	t.Run("later", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			host := &fakeHost{}
			host.tables[IPv4] = RouteTable{Routes: []Route{defaultRoute4(0x10, 0), defaultRoute4(0x20, 0)}, Interfaces: []Interface{ethernet4, wifi4}}
			var gate sendGate
			var rep reports
			f, err := newFollower(host.os(), tunnelLUID, true, false, &gate, rep.add)
			if err != nil {
				t.Fatal(err)
			}
			f.start()
			defer f.close()
			host.set(func(h *fakeHost) {
				h.pinErr = errors.New("setsockopt: WSAENOTSOCK")
				h.tables[IPv4].Interfaces[0].Up = false
			})
			f.changed()
			synctest.Wait()
			if errs := rep.get(); len(errs) != 1 || !errors.Is(errs[0], host.pinErr) {
				t.Fatalf("onError got %v, want the pin error", errs)
			}
			if gate.isShut(IPv4) {
				t.Error("IPv4 dropped although the socket is still pinned to a physical interface")
			}
			host.set(func(h *fakeHost) { h.pinErr, h.readErr = nil, errors.New("GetIPInterfaceTable: busy") })
			f.changed()
			synctest.Wait()
			if errs := rep.get(); len(errs) != 2 || !errors.Is(errs[1], host.readErr) {
				t.Fatalf("onError got %v, want the read error second", errs)
			}
		})
	})
}

// TestFollowerCoalesces: notifications that arrive while an update runs
// cost one more update, not one each; after close none runs.
func TestFollowerCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{}
		host.tables[IPv6] = RouteTable{
			Routes:     []Route{{Prefix: netip.MustParsePrefix("::/0"), LUID: 0x20}},
			Interfaces: []Interface{wifi4},
		}
		var gate sendGate
		f, err := newFollower(host.os(), tunnelLUID, false, true, &gate, nil)
		if err != nil {
			t.Fatal(err)
		}
		host.block = make(chan struct{})
		f.start()
		f.changed()
		synctest.Wait() // the update is blocked reading the table
		for range 100 {
			f.changed()
			f.routeChanged(netip.MustParsePrefix("::/0"))
		}
		close(host.block)
		synctest.Wait()
		if reads, pins := host.state(); reads != 3 || !slices.Equal(pins, []string{"IPv6 20"}) {
			t.Errorf("%d reads, pins %q; want 3 (first, blocked, one for the burst) and [IPv6 20]", reads, pins)
		}
		f.close()
		f.close() // twice is fine
		f.changed()
		synctest.Wait()
		if reads, _ := host.state(); reads != 3 {
			t.Errorf("%d reads after close, want 3", reads)
		}
	})
}
