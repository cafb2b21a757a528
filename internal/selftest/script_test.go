//go:build !windows

// The script's tests run both engines over loopback UDP, which wine's
// Winsock cannot do; they run on Linux (and any Unix) without root.

package selftest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/netstack"
	"github.com/warren-vpn/warren/internal/winnet"
)

// fakeHost stands in for the OS: its "adapter" is a warren engine on a
// second userspace stack, so the script's real peer, handshake and HTTP
// checks run end to end without root; what the OS would report
// (addresses, routes, MTU, ping) comes from fields a test can break.
type fakeHost struct {
	mu    sync.Mutex
	calls []string

	used          []netip.Prefix
	notPrivileged bool
	driverErr     error
	upErr         error
	// adjust changes the adapter before the checks see it.
	adjust func(*fakeAdapter)
	ad     *fakeAdapter
}

func (h *fakeHost) call(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, name)
}

func (h *fakeHost) about() []Fact { return []Fact{{"os", "fake OS"}} }

func (h *fakeHost) privileged() error {
	h.call("privileged")
	if h.notPrivileged {
		return ErrNotPrivileged
	}
	return nil
}

func (h *fakeHost) usedPrefixes() ([]netip.Prefix, error) {
	h.call("usedPrefixes")
	return h.used, nil
}

func (h *fakeHost) driver() (string, []Fact, error) {
	h.call("driver")
	return "fake driver", []Fact{{"driver", "fake"}}, h.driverErr
}

func (h *fakeHost) up(ctx context.Context, sp *spec, logger *device.Logger) (adapter, error) {
	h.call("up")
	if h.upErr != nil {
		return nil, h.upErr
	}
	a := &fakeAdapter{h: h, ifname: "fake0", mtuV: sp.mtu, via: map[netip.Addr]string{}}
	var addrs []netip.Addr
	for _, f := range sp.families() {
		addrs = append(addrs, f.Local.Addr())
		a.addrs = append(a.addrs, f.Local)
		a.via[f.Peer] = a.ifname
	}
	var err error
	if a.ns, err = netstack.New(netstack.Options{Addresses: addrs, MTU: sp.mtu, Name: a.ifname}); err != nil {
		return nil, err
	}
	if a.dev, err = device.New(a.ns, bind.NewStd(), device.Options{Logger: logger}); err != nil {
		a.ns.Close()
		return nil, err
	}
	cfg, err := sp.config().WireGuardConfig(ctx, nil, true)
	if err == nil {
		err = a.dev.Apply(cfg)
	}
	if err == nil {
		err = a.dev.Up()
	}
	if err != nil {
		a.dev.Close()
		return nil, err
	}
	if h.adjust != nil {
		h.adjust(a)
	}
	h.ad = a
	return a, nil
}

type fakeAdapter struct {
	h      *fakeHost
	ifname string
	ns     *netstack.Device
	dev    *device.Device

	addrs    []netip.Prefix
	via      map[netip.Addr]string
	mtuV     int
	v6err    error
	pingErr  map[netip.Addr]error
	closeErr error
	goneErr  error
	ks       killSwitch
	closed   bool
}

func (a *fakeAdapter) name() string                       { return a.ifname }
func (a *fakeAdapter) facts() []Fact                      { return []Fact{{"adapter", a.ifname + ", fake"}} }
func (a *fakeAdapter) device() *device.Device             { return a.dev }
func (a *fakeAdapter) ipv6() error                        { return a.v6err }
func (a *fakeAdapter) addresses() ([]netip.Prefix, error) { return a.addrs, nil }
func (a *fakeAdapter) mtu() (int, error)                  { return a.mtuV, nil }
func (a *fakeAdapter) killSwitch() killSwitch             { return a.ks }

func (a *fakeAdapter) routeVia(dst netip.Addr) (string, error) {
	if v, ok := a.via[dst]; ok {
		return v, nil
	}
	return "", errors.New("no route to " + dst.String())
}

func (a *fakeAdapter) ping(ctx context.Context, dst netip.Addr, payload int, df bool) (time.Duration, error) {
	if err := a.pingErr[dst]; err != nil {
		return 0, err
	}
	return time.Millisecond, nil
}

func (a *fakeAdapter) dial(ctx context.Context, network, address string) (net.Conn, error) {
	return a.ns.DialContext(ctx, network, address)
}

func (a *fakeAdapter) close() error {
	a.h.call("close")
	a.closed = true
	a.dev.Close()
	return a.closeErr
}

func (a *fakeAdapter) gone() error {
	a.h.call("gone")
	return a.goneErr
}

func runFake(t *testing.T, h *fakeHost, opts Options) *Report {
	t.Helper()
	opts.host = h
	opts.rand = seeded(42)
	return runLogged(context.Background(), t, opts)
}

// wantStatus checks the status of named checks and that a failure or skip
// says why.
func wantStatus(t *testing.T, rep *Report, want map[string]Status) {
	t.Helper()
	for name, st := range want {
		c := rep.Check(name)
		switch {
		case c == nil:
			t.Errorf("no check %q", name)
		case c.Status != st:
			t.Errorf("%s: %v (%s), want %v", name, c.Status, c.Detail, st)
		case st != Pass && (c.Err == nil || c.Detail == ""):
			t.Errorf("%s: %v without a reason", name, st)
		}
	}
}

func TestScriptAllPass(t *testing.T) {
	h := &fakeHost{}
	rep := runFake(t, h, Options{})
	if !rep.OK() {
		t.Fatal("not OK")
	}
	want := []string{chkAddrs, chkDriver, chkPeer, chkAdapter, chkOSAddrs, chkRoutes, chkMTU, chkHandshake,
		chkPing4, chkPing6, chkPingMTU4, chkPingMTU6, chkHTTP4, chkHTTP6, chkCleanup}
	var got []string
	for _, c := range rep.Checks {
		got = append(got, c.Name)
		if c.Status != Pass {
			t.Errorf("%s: %v: %s", c.Name, c.Status, c.Detail)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("checks %q, want %q", got, want)
	}
	if !h.ad.closed || !slices.Contains(h.calls, "gone") {
		t.Errorf("adapter not closed and checked gone: calls %v", h.calls)
	}
	if c := rep.Check(chkHTTP4); !strings.Contains(c.Detail, "SHA-256 intact") {
		t.Errorf("HTTP check detail: %s", c.Detail)
	}
	for _, f := range []string{"os", "warren", "driver", "adapter", "MTU"} {
		if rep.Fact(f) == "" {
			t.Errorf("no fact %q", f)
		}
	}
}

// TestScriptInjectedFailures breaks one step at a time: that step fails
// with its reason, what needs it is skipped, the rest still runs, the
// report is not OK, and whatever was created is removed.
func TestScriptInjectedFailures(t *testing.T) {
	boom := errors.New("injected failure")
	for _, tc := range []struct {
		name   string
		h      *fakeHost
		want   map[string]Status
		reason map[string]string
		noUp   bool
	}{
		{name: "driver", h: &fakeHost{driverErr: boom}, noUp: true,
			want:   map[string]Status{chkDriver: Fail, chkPeer: Skip, chkAdapter: Skip, chkPing4: Skip, chkHTTP6: Skip},
			reason: map[string]string{chkDriver: "injected failure", chkAdapter: "needs \"in-process peer\""}},
		{name: "adapter", h: &fakeHost{upErr: boom},
			want:   map[string]Status{chkPeer: Pass, chkAdapter: Fail, chkOSAddrs: Skip, chkHandshake: Skip, chkCleanup: Pass},
			reason: map[string]string{chkAdapter: "injected failure", chkCleanup: "peer stopped"}},
		{name: "route elsewhere", h: &fakeHost{adjust: func(a *fakeAdapter) {
			for p := range a.via {
				if p.Is4() {
					a.via[p] = "eth0"
				}
			}
		}},
			want:   map[string]Status{chkRoutes: Fail, chkPing4: Pass, chkCleanup: Pass},
			reason: map[string]string{chkRoutes: `through "eth0", not fake0`}},
		{name: "address missing", h: &fakeHost{adjust: func(a *fakeAdapter) { a.addrs = a.addrs[1:] }},
			want:   map[string]Status{chkOSAddrs: Fail, chkRoutes: Pass},
			reason: map[string]string{chkOSAddrs: "does not report 198."}},
		{name: "mtu", h: &fakeHost{adjust: func(a *fakeAdapter) { a.mtuV = 1500 }},
			want:   map[string]Status{chkMTU: Fail},
			reason: map[string]string{chkMTU: "reports MTU 1500 on fake0, the tunnel set 1420"}},
		{name: "ping", h: &fakeHost{adjust: func(a *fakeAdapter) {
			a.pingErr = map[netip.Addr]error{}
			for p := range a.via {
				if p.Is6() {
					a.pingErr[p] = boom
				}
			}
		}},
			want:   map[string]Status{chkPing4: Pass, chkPing6: Fail, chkPingMTU6: Fail, chkHTTP6: Pass},
			reason: map[string]string{chkPing6: "56-byte echo to fd", chkPingMTU6: "1372-byte echo"}},
		{name: "cleanup", h: &fakeHost{adjust: func(a *fakeAdapter) { a.closeErr = boom }},
			want:   map[string]Status{chkHTTP6: Pass, chkCleanup: Fail},
			reason: map[string]string{chkCleanup: "remove fake0: injected failure"}},
		{name: "left behind", h: &fakeHost{adjust: func(a *fakeAdapter) { a.goneErr = boom }},
			want:   map[string]Status{chkCleanup: Fail},
			reason: map[string]string{chkCleanup: "injected failure"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := runFake(t, tc.h, Options{})
			if rep.OK() {
				t.Error("report is OK with a broken step")
			}
			wantStatus(t, rep, tc.want)
			for name, why := range tc.reason {
				if c := rep.Check(name); c != nil && !strings.Contains(c.Detail, why) {
					t.Errorf("%s: %q does not say %q", name, c.Detail, why)
				}
			}
			if tc.noUp && slices.Contains(tc.h.calls, "up") {
				t.Errorf("the adapter was created after a failed prerequisite: calls %v", tc.h.calls)
			}
			if tc.h.ad != nil && !tc.h.ad.closed {
				t.Error("the adapter was not closed")
			}
		})
	}
}

// TestScriptIPv6Unavailable: a host without IPv6 skips the IPv6 checks,
// saying why, and passes.
func TestScriptIPv6Unavailable(t *testing.T) {
	h := &fakeHost{adjust: func(a *fakeAdapter) { a.v6err = errors.New("IPv6 is disabled") }}
	rep := runFake(t, h, Options{})
	wantStatus(t, rep, map[string]Status{chkPing4: Pass, chkHTTP4: Pass, chkPing6: Skip, chkPingMTU6: Skip, chkHTTP6: Skip, chkOSAddrs: Pass})
	if c := rep.Check(chkPing6); !errors.Is(c.Err, ErrFamily) || !strings.Contains(c.Detail, "IPv6 is disabled") {
		t.Errorf("ping IPv6 skipped for %v (%s)", c.Err, c.Detail)
	}
	if !rep.OK() {
		t.Error("a host without IPv6 fails the selftest")
	}
}

// TestScriptNoFreeIPv4: with both IPv4 ranges routed, IPv4 is skipped and
// IPv6 carries the test.
func TestScriptNoFreeIPv4(t *testing.T) {
	h := &fakeHost{used: prefixes("198.18.0.0/15", "100.64.0.0/10")}
	rep := runFake(t, h, Options{})
	wantStatus(t, rep, map[string]Status{chkAddrs: Pass, chkHandshake: Pass, chkPing4: Skip, chkHTTP4: Skip, chkHTTP6: Pass})
	if c := rep.Check(chkPing4); !errors.Is(c.Err, ErrNoFreeAddress) {
		t.Errorf("ping IPv4 skipped for %v", c.Err)
	}
	if !rep.OK() {
		t.Error("not OK")
	}
}

// fakeKillSwitch installs nothing; installed returns what the test says.
type fakeKillSwitch struct {
	plan       []winnet.Rule
	readBack   func([]winnet.Rule) []winnet.Rule
	readErr    error
	engaged    bool
	disengaged int
	leftAfter  []winnet.Rule
}

func (k *fakeKillSwitch) engage() ([]winnet.Rule, error) { k.engaged = true; return k.plan, nil }
func (k *fakeKillSwitch) installed() ([]winnet.Rule, error) {
	if !k.engaged {
		return k.leftAfter, nil
	}
	return k.readBack(slices.Clone(k.plan)), k.readErr
}
func (k *fakeKillSwitch) disengage() error {
	k.disengaged++
	k.engaged = false
	return nil
}

// errUnreadable stands in for winnet.ErrFilterUnreadable (Windows-only).
var errUnreadable = errors.New("filter does not translate back into a rule")

func TestScriptKillSwitch(t *testing.T) {
	same := func(rs []winnet.Rule) []winnet.Rule { return rs }
	t.Run("not asked", func(t *testing.T) {
		ks := &fakeKillSwitch{plan: killSwitchPlan(), readBack: same}
		rep := runFake(t, &fakeHost{adjust: func(a *fakeAdapter) { a.ks = ks }}, Options{})
		wantStatus(t, rep, map[string]Status{chkKillSwitch: Skip})
		if c := rep.Check(chkKillSwitch); !errors.Is(c.Err, ErrNotEngaged) || !strings.Contains(c.Detail, "--kill-switch") {
			t.Errorf("kill switch skipped with %v (%s)", c.Err, c.Detail)
		}
		if ks.engaged || rep.Check(chkKSPing) != nil {
			t.Error("the kill switch was engaged without being asked")
		}
		if !rep.OK() {
			t.Error("not OK")
		}
	})
	t.Run("matches", func(t *testing.T) {
		ks := &fakeKillSwitch{plan: killSwitchPlan(), readBack: same}
		rep := runFake(t, &fakeHost{adjust: func(a *fakeAdapter) { a.ks = ks }}, Options{KillSwitch: true})
		wantStatus(t, rep, map[string]Status{chkKillSwitch: Pass, chkKSPing: Pass, chkKSHTTP: Pass, chkKSOff: Pass})
		if ks.engaged || ks.disengaged == 0 {
			t.Error("the kill switch was left engaged")
		}
		if !rep.OK() {
			t.Error("not OK")
		}
	})
	t.Run("differs", func(t *testing.T) {
		ks := &fakeKillSwitch{plan: killSwitchPlan(), readBack: func(rs []winnet.Rule) []winnet.Rule {
			rs[0].Weight = 3
			return rs[:len(rs)-1]
		}, readErr: errUnreadable}
		rep := runFake(t, &fakeHost{adjust: func(a *fakeAdapter) { a.ks = ks }}, Options{KillSwitch: true})
		wantStatus(t, rep, map[string]Status{chkKillSwitch: Fail, chkKSPing: Pass, chkKSOff: Pass})
		c := rep.Check(chkKillSwitch)
		for _, w := range []string{"missing: " + killSwitchPlan()[0].String(), "unexpected: ", "block untunneled traffic", "could not be read back"} {
			if !strings.Contains(c.Detail, w) {
				t.Errorf("kill switch failure does not say %q:\n%s", w, c.Detail)
			}
		}
		if !errors.Is(c.Err, errUnreadable) {
			t.Errorf("error %v does not wrap the read-back problem", c.Err)
		}
	})
	t.Run("left behind", func(t *testing.T) {
		ks := &fakeKillSwitch{plan: killSwitchPlan(), readBack: same, leftAfter: killSwitchPlan()[:2]}
		rep := runFake(t, &fakeHost{adjust: func(a *fakeAdapter) { a.ks = ks }}, Options{KillSwitch: true})
		wantStatus(t, rep, map[string]Status{chkKillSwitch: Pass, chkKSOff: Fail})
		if c := rep.Check(chkKSOff); !strings.Contains(c.Detail, "2 filters are still installed") {
			t.Errorf("kill switch removal: %s", c.Detail)
		}
	})
}

// TestScriptInterrupted cancels the run in the middle: the remaining
// checks are skipped as interrupted, the adapter and the peer are still
// removed, and the report is not OK.
func TestScriptInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &fakeHost{}
	rep, err := Run(ctx, Options{host: h, rand: seeded(7), afterUp: func(adapter) error { cancel(); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.OK() {
		t.Errorf("Interrupted=%v OK=%v", rep.Interrupted, rep.OK())
	}
	if c := rep.Check(chkPing4); c == nil || !errors.Is(c.Err, ErrInterrupted) {
		t.Errorf("ping after the interrupt: %+v", c)
	}
	wantStatus(t, rep, map[string]Status{chkCleanup: Pass})
	if !h.ad.closed {
		t.Error("adapter left open after the interrupt")
	}
	var buf bytes.Buffer
	rep.WriteTo(&buf)
	if !strings.Contains(buf.String(), "Result: INTERRUPTED") {
		t.Errorf("report does not say it was interrupted:\n%s", buf.String())
	}
}

// TestRunRefusesUnprivileged: without the privileges Run touches nothing.
func TestRunRefusesUnprivileged(t *testing.T) {
	h := &fakeHost{notPrivileged: true}
	rep, err := Run(context.Background(), Options{host: h})
	if !errors.Is(err, ErrNotPrivileged) || rep != nil {
		t.Fatalf("Run = %v, %v; want ErrNotPrivileged and no report", rep, err)
	}
	if !slices.Equal(h.calls, []string{"privileged"}) {
		t.Errorf("host calls %v, want only the privilege check", h.calls)
	}
}
