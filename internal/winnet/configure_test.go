package winnet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeIP is an adapter and its neighbours as the IP Helper API shows
// them: IP interface rows that exist once a family is attached, the
// adapter's addresses, routes and DNS settings, and addresses held by
// other adapters. Every call is logged.
type fakeIP struct {
	mu       sync.Mutex
	rows     map[IPFamily]*IPInterface
	addrs    []netip.Prefix
	routes   []netip.Prefix
	dns      map[IPFamily][]netip.Addr
	others   []Holder
	disabled map[IPFamily]bool
	log      []string
	// fail makes the call whose log entry is the key fail with the value,
	// as many times as failTimes says (0: always).
	fail      map[string]error
	failTimes map[string]int
}

func newFakeIP(attached ...IPFamily) *fakeIP {
	f := &fakeIP{
		rows:      map[IPFamily]*IPInterface{},
		dns:       map[IPFamily][]netip.Addr{},
		disabled:  map[IPFamily]bool{},
		fail:      map[string]error{},
		failTimes: map[string]int{},
	}
	for _, fam := range attached {
		f.rows[fam] = &IPInterface{MTU: 1500, AutomaticMetric: true, RouterDiscovery: true, DADTransmits: 1}
	}
	return f
}

// call logs op and returns the failure planned for it, if any.
func (f *fakeIP) call(op string) error {
	f.log = append(f.log, op)
	err, ok := f.fail[op]
	if !ok {
		return nil
	}
	if n := f.failTimes[op]; n > 0 {
		if n == 1 {
			delete(f.fail, op)
		}
		f.failTimes[op] = n - 1
	}
	return err
}

func (f *fakeIP) attach(fam IPFamily) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows[fam] = &IPInterface{MTU: 1500, AutomaticMetric: true, RouterDiscovery: true, DADTransmits: 1}
}

func (f *fakeIP) Interface(fam IPFamily) (IPInterface, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("get " + fam.String()); err != nil {
		return IPInterface{}, err
	}
	r, ok := f.rows[fam]
	if !ok {
		return IPInterface{}, fmt.Errorf("GetIpInterfaceEntry: %w", ErrNotFound)
	}
	return *r, nil
}

func (f *fakeIP) SetInterface(fam IPFamily, s IPInterface) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("set " + fam.String()); err != nil {
		return err
	}
	if _, ok := f.rows[fam]; !ok {
		return ErrNotFound
	}
	f.rows[fam] = &s
	return nil
}

func (f *fakeIP) AddAddress(p netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("add " + p.String()); err != nil {
		return err
	}
	if _, ok := f.rows[familyOf(p.Addr())]; !ok {
		return ErrNotFound
	}
	if slices.Contains(f.addrs, p) {
		return fmt.Errorf("CreateUnicastIpAddressEntry: %w", ErrAlreadyExists)
	}
	for _, h := range f.others {
		if h.Prefix.Addr() == p.Addr() {
			return fmt.Errorf("CreateUnicastIpAddressEntry: %w", ErrAlreadyExists)
		}
	}
	f.addrs = append(f.addrs, p)
	return nil
}

func (f *fakeIP) DeleteAddress(p netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("del " + p.String()); err != nil {
		return err
	}
	i := slices.Index(f.addrs, p)
	if i < 0 {
		return ErrNotFound
	}
	f.addrs = slices.Delete(f.addrs, i, i+1)
	return nil
}

func (f *fakeIP) AddRoute(r Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("route " + r.Prefix.String()); err != nil {
		return err
	}
	if _, ok := f.rows[familyOf(r.Prefix.Addr())]; !ok {
		return ErrNotFound
	}
	if slices.Contains(f.routes, r.Prefix) {
		return ErrAlreadyExists
	}
	f.routes = append(f.routes, r.Prefix)
	return nil
}

func (f *fakeIP) DeleteRoute(r Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("unroute " + r.Prefix.String()); err != nil {
		return err
	}
	i := slices.Index(f.routes, r.Prefix)
	if i < 0 {
		return ErrNotFound
	}
	f.routes = slices.Delete(f.routes, i, i+1)
	return nil
}

func (f *fakeIP) SetDNS(fam IPFamily, servers []netip.Addr, _ []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("dns " + fam.String()); err != nil {
		return err
	}
	f.dns[fam] = servers
	return nil
}

func (f *fakeIP) FlushDNS(fam IPFamily) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("flushdns " + fam.String()); err != nil {
		return err
	}
	delete(f.dns, fam)
	return nil
}

func (f *fakeIP) AddressHolders(a netip.Addr) ([]Holder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("holders " + a.String()); err != nil {
		return nil, err
	}
	var out []Holder
	for _, p := range f.addrs {
		if p.Addr() == a {
			out = append(out, Holder{Interface: 1, Name: "tunnel", Prefix: p, Ours: true, Up: true})
		}
	}
	for _, h := range f.others {
		if h.Prefix.Addr() == a {
			out = append(out, h)
		}
	}
	return out, nil
}

func (f *fakeIP) DeleteHeld(h Holder) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(fmt.Sprintf("delheld %v %s", h.Prefix, h.Name)); err != nil {
		return err
	}
	i := slices.IndexFunc(f.others, func(o Holder) bool { return o.Interface == h.Interface && o.Prefix == h.Prefix })
	if i < 0 {
		return ErrNotFound
	}
	f.others = slices.Delete(f.others, i, i+1)
	return nil
}

func (f *fakeIP) FamilyDisabled(fam IPFamily) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.disabled[fam]
}

func (f *fakeIP) snapshot() (log []string, addrs, routes []netip.Prefix, dns int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log), slices.Clone(f.addrs), slices.Clone(f.routes), len(f.dns)
}

// dualPlan is a dual-stack full tunnel with DNS.
func dualPlan(t *testing.T) *Plan {
	return plan(t, "wg0", `[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
Address = 10.9.0.2/32, fd00::2/128
DNS = 10.9.0.1
[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
Endpoint = 192.0.2.1:51820
AllowedIPs = 0.0.0.0/0, ::/0
`)
}

type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) add(m string) { w.mu.Lock(); w.msgs = append(w.msgs, m); w.mu.Unlock() }
func (w *warnings) all() string  { w.mu.Lock(); defer w.mu.Unlock(); return strings.Join(w.msgs, "\n") }

func TestConfigureIPv6MissingIsSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ip := newFakeIP(FamilyIPv4) // IPv6 never attaches
		var w warnings
		start := time.Now()
		c, err := Configure(t.Context(), dualPlan(t), ip, NewAttachments(), ConfigOptions{Warn: w.add})
		if err != nil {
			t.Fatalf("Configure failed although IPv4 is attached: %v", err)
		}
		defer c.Undo()
		if waited := time.Since(start); waited != FamilyGrace {
			t.Errorf("waited %v for IPv6, want the grace of %v", waited, FamilyGrace)
		}
		_, addrs, routes, _ := ip.snapshot()
		if !slices.Equal(addrs, prefixes("10.9.0.2/32")) || !slices.Equal(routes, prefixes("0.0.0.0/1", "128.0.0.0/1")) {
			t.Errorf("IPv4 not configured: addresses %v, routes %v", addrs, routes)
		}
		if got := ip.rows[FamilyIPv4]; got.MTU != DefaultMTU || got.Metric != InterfaceMetric || got.AutomaticMetric || got.RouterDiscovery || got.DADTransmits != 0 {
			t.Errorf("IPv4 interface row = %+v", *got)
		}
		if !strings.Contains(w.all(), "IPv6") {
			t.Errorf("no warning about IPv6: %q", w.all())
		}
	})
}

func TestConfigureIPv6DisabledIsSkippedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ip := newFakeIP(FamilyIPv4)
		ip.disabled[FamilyIPv6] = true
		var w warnings
		start := time.Now()
		c, err := Configure(t.Context(), dualPlan(t), ip, NewAttachments(), ConfigOptions{Warn: w.add})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Undo()
		if waited := time.Since(start); waited != 0 {
			t.Errorf("waited %v for a disabled family", waited)
		}
		if !strings.Contains(w.all(), "IPv6 is disabled") {
			t.Errorf("warnings %q", w.all())
		}
	})
}

func TestConfigureNoFamilyAttaches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ip := newFakeIP()
		start := time.Now()
		_, err := Configure(t.Context(), dualPlan(t), ip, NewAttachments(), ConfigOptions{})
		if !errors.Is(err, ErrNotAttached) {
			t.Fatalf("Configure = %v, want ErrNotAttached", err)
		}
		if waited := time.Since(start); waited != AttachTimeout {
			t.Errorf("gave up after %v, want %v", waited, AttachTimeout)
		}
		if log, _, _, _ := ip.snapshot(); slices.ContainsFunc(log, func(s string) bool { return !strings.HasPrefix(s, "get ") }) {
			t.Errorf("touched an adapter with no IP interface: %v", log)
		}
	})
}

// TestConfigureFollowsAttachOrder: nothing of a family is set before
// TCP/IP attaches it, and each family is configured when it attaches.
func TestConfigureFollowsAttachOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ip := newFakeIP()
		att := NewAttachments()
		type result struct {
			c   *Configuration
			err error
		}
		done := make(chan result, 1)
		go func() {
			c, err := Configure(t.Context(), dualPlan(t), ip, att, ConfigOptions{})
			done <- result{c, err}
		}()
		synctest.Wait()
		if log, _, _, _ := ip.snapshot(); !slices.Equal(log, []string{"get IPv4", "get IPv6"}) {
			t.Fatalf("before any family attached: %v", log)
		}

		// The watcher saw IPv6 first, before the adapter's LUID was known.
		att.Notify(7, FamilyIPv6)
		att.Notify(9, FamilyIPv4) // another adapter
		time.Sleep(time.Second)
		ip.attach(FamilyIPv6)
		att.SetInterface(7)
		synctest.Wait()
		log, addrs, _, _ := ip.snapshot()
		if !slices.Equal(addrs, prefixes("fd00::2/128")) {
			t.Fatalf("after IPv6 attached: addresses %v (log %v)", addrs, log)
		}
		select {
		case r := <-done:
			t.Fatalf("Configure returned before IPv4 attached: %v", r.err)
		default:
		}
		mark := len(log)

		time.Sleep(2 * time.Second)
		ip.attach(FamilyIPv4)
		att.Notify(7, FamilyIPv4)
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		log, addrs, routes, dns := ip.snapshot()
		for _, op := range log[:mark] {
			if strings.Contains(op, "IPv4") && op != "get IPv4" || strings.Contains(op, "10.") || strings.Contains(op, ".0/") {
				t.Errorf("IPv4 touched before it attached: %q in %v", op, log[:mark])
			}
		}
		for _, fam := range []IPFamily{FamilyIPv4, FamilyIPv6} {
			set := slices.Index(log, "set "+fam.String())
			for i, op := range log {
				isFam := (strings.HasPrefix(op, "add ") || strings.HasPrefix(op, "route ")) &&
					strings.Contains(op, ":") == (fam == FamilyIPv6)
				if isFam && i < set {
					t.Errorf("%s: %q before the interface row was set: %v", fam, op, log)
				}
			}
		}
		if len(addrs) != 2 || len(routes) != 4 || dns != 2 {
			t.Errorf("addresses %v, routes %v, DNS families %d", addrs, routes, dns)
		}
		if err := r.c.Undo(); err != nil {
			t.Fatal(err)
		}
		if _, addrs, routes, dns := ip.snapshot(); len(addrs)+len(routes)+dns != 0 {
			t.Errorf("after Undo: addresses %v, routes %v, DNS families %d", addrs, routes, dns)
		}
	})
}

func TestConfigureLateFamilyAndReattach(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ip := newFakeIP(FamilyIPv4)
		att := NewAttachments()
		att.SetInterface(7)
		c, err := Configure(t.Context(), dualPlan(t), ip, att, ConfigOptions{Warn: func(string) {}})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		ip.attach(FamilyIPv6)
		att.Notify(7, FamilyIPv6)
		att.Notify(7, FamilyIPv4) // a duplicate: harmless
		synctest.Wait()
		if _, addrs, routes, _ := ip.snapshot(); len(addrs) != 2 || len(routes) != 4 {
			t.Fatalf("late IPv6 not configured: %v %v", addrs, routes)
		}
		// IPv6's interface goes away and comes back: configured again.
		ip.mu.Lock()
		delete(ip.rows, FamilyIPv6)
		ip.addrs = slices.DeleteFunc(ip.addrs, func(p netip.Prefix) bool { return p.Addr().Is6() })
		ip.routes = slices.DeleteFunc(ip.routes, func(p netip.Prefix) bool { return p.Addr().Is6() })
		ip.mu.Unlock()
		ip.attach(FamilyIPv6)
		att.Notify(7, FamilyIPv6)
		synctest.Wait()
		if _, addrs, routes, _ := ip.snapshot(); len(addrs) != 2 || len(routes) != 4 {
			t.Fatalf("re-attached IPv6 not configured: %v %v", addrs, routes)
		}
		if c.Err() != nil {
			t.Errorf("Err = %v", c.Err())
		}
		if err := c.Undo(); err != nil {
			t.Fatal(err)
		}
		if _, addrs, routes, dns := ip.snapshot(); len(addrs)+len(routes)+dns != 0 {
			t.Errorf("after Undo: %v %v %d", addrs, routes, dns)
		}
	})
}

func TestConfigureLateFailureIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ip := newFakeIP(FamilyIPv4)
		att := NewAttachments()
		att.SetInterface(7)
		c, err := Configure(t.Context(), dualPlan(t), ip, att, ConfigOptions{Warn: func(string) {}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Undo()
		ip.fail["route ::/1"] = errors.New("access denied")
		ip.attach(FamilyIPv6)
		att.Notify(7, FamilyIPv6)
		select {
		case <-c.Failed():
		case <-time.After(time.Hour):
			t.Fatal("a failed late configuration was not reported")
		}
		if err := c.Err(); err == nil || !strings.Contains(err.Error(), "access denied") {
			t.Errorf("Err = %v", err)
		}
	})
}

func TestConfigureRemovesStaleAddress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ip := newFakeIP(FamilyIPv4, FamilyIPv6)
		stale := Holder{Interface: 3, Name: "warren (old)", Prefix: netip.MustParsePrefix("10.9.0.2/32")}
		ip.others = []Holder{stale, {Interface: 4, Name: "Ethernet", Prefix: netip.MustParsePrefix("192.0.2.7/24"), Up: true}}
		var w warnings
		c, err := Configure(t.Context(), dualPlan(t), ip, NewAttachments(), ConfigOptions{Warn: w.add})
		if err != nil {
			t.Fatalf("Configure = %v; want the stale address cleaned up", err)
		}
		defer c.Undo()
		log, addrs, _, _ := ip.snapshot()
		want := []string{"add 10.9.0.2/32", "holders 10.9.0.2", "delheld 10.9.0.2/32 warren (old)", "add 10.9.0.2/32"}
		if i := slices.Index(log, want[0]); i < 0 || !slices.Equal(log[i:i+len(want)], want) {
			t.Errorf("log %v, want the sequence %v", log, want)
		}
		if !slices.Contains(addrs, stale.Prefix) || len(ip.others) != 1 {
			t.Errorf("addresses %v, others %v", addrs, ip.others)
		}
		if !strings.Contains(w.all(), "warren (old)") {
			t.Errorf("cleanup not reported: %q", w.all())
		}
	})
}

func TestConfigureAddressOnConnectedAdapter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ip := newFakeIP(FamilyIPv4, FamilyIPv6)
		ip.others = []Holder{{Interface: 4, Name: "Ethernet", Prefix: netip.MustParsePrefix("fd00::2/64"), Up: true}}
		_, err := Configure(t.Context(), dualPlan(t), ip, NewAttachments(), ConfigOptions{})
		if !errors.Is(err, ErrAddressInUse) || !errors.Is(err, ErrAlreadyExists) || !strings.Contains(err.Error(), `"Ethernet"`) {
			t.Fatalf("Configure = %v, want ErrAddressInUse naming Ethernet", err)
		}
		if len(ip.others) != 1 {
			t.Error("took the address from a connected adapter")
		}
		if _, addrs, routes, dns := ip.snapshot(); len(addrs)+len(routes)+dns != 0 {
			t.Errorf("left behind: %v %v %d", addrs, routes, dns)
		}
	})
}

// TestConfigureFailureUndoesEverything fails each mutating call in turn:
// whichever fails, nothing added stays.
func TestConfigureFailureUndoesEverything(t *testing.T) {
	ops := []string{"set IPv4", "add 10.9.0.2/32", "route 0.0.0.0/1", "route 128.0.0.0/1", "dns IPv4",
		"set IPv6", "add fd00::2/128", "route ::/1", "route 8000::/1", "dns IPv6"}
	for _, op := range ops {
		t.Run(op, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ip := newFakeIP(FamilyIPv4, FamilyIPv6)
				boom := errors.New("boom")
				ip.fail[op] = boom
				_, err := Configure(t.Context(), dualPlan(t), ip, NewAttachments(), ConfigOptions{})
				if !errors.Is(err, boom) {
					t.Fatalf("Configure = %v, want the failure of %s", err, op)
				}
				log, addrs, routes, dns := ip.snapshot()
				if len(addrs)+len(routes)+dns != 0 {
					t.Errorf("left behind: addresses %v, routes %v, DNS families %d (log %v)", addrs, routes, dns, log)
				}
			})
		})
	}
}

func TestConfigureRetriesAtBoot(t *testing.T) {
	for _, c := range []struct {
		uptime time.Duration
		ok     bool
	}{{30 * time.Second, true}, {time.Hour, false}} {
		t.Run(c.uptime.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ip := newFakeIP(FamilyIPv4, FamilyIPv6)
				ip.fail["route ::/1"] = fmt.Errorf("CreateIpForwardEntry2: %w", ErrNotFound)
				ip.failTimes["route ::/1"] = 3
				var logged []string
				boot := BootRetry{
					Uptime: func() time.Duration { return c.uptime },
					Logf:   func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) },
				}
				cfg, err := Configure(t.Context(), dualPlan(t), ip, NewAttachments(), ConfigOptions{Boot: boot})
				if c.ok {
					if err != nil {
						t.Fatalf("Configure = %v, want success after retries", err)
					}
					defer cfg.Undo()
					if len(logged) != 3 || !strings.Contains(logged[0], "IPv6") || !strings.Contains(logged[0], "not found") {
						t.Errorf("retries logged: %q", logged)
					}
					if _, addrs, routes, _ := ip.snapshot(); len(addrs) != 2 || len(routes) != 4 {
						t.Errorf("after retries: %v %v", addrs, routes)
					}
					return
				}
				if !errors.Is(err, ErrNotFound) || len(logged) != 0 {
					t.Errorf("long after boot: Configure = %v, retries %q; want no retry", err, logged)
				}
			})
		})
	}
}

func TestConfigureSmallMTULeavesIPv6Alone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := plan(t, "wg0", `[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
Address = 10.9.0.2/32
MTU = 1000
[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
AllowedIPs = 10.9.0.0/24
`)
		ip := newFakeIP(FamilyIPv4, FamilyIPv6)
		c, err := Configure(t.Context(), p, ip, NewAttachments(), ConfigOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Undo()
		if ip.rows[FamilyIPv4].MTU != 1000 || ip.rows[FamilyIPv6].MTU != 1500 {
			t.Errorf("MTUs: IPv4 %d, IPv6 %d; want 1000 and the untouched 1500", ip.rows[FamilyIPv4].MTU, ip.rows[FamilyIPv6].MTU)
		}
	})
}

func TestConfigureStopsWaitingWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := Configure(ctx, dualPlan(t), newFakeIP(), NewAttachments(), ConfigOptions{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Configure = %v", err)
		}
	})
}

func TestAttachmentsBeforeInterfaceKnown(t *testing.T) {
	a := NewAttachments()
	a.Notify(1, FamilyIPv6)
	a.Notify(2, FamilyIPv4)
	a.Notify(1, FamilyIPv6)
	select {
	case <-a.Ready():
		t.Fatal("ready before the adapter is known")
	default:
	}
	a.SetInterface(1)
	<-a.Ready()
	if got := a.Take(); !slices.Equal(got, []IPFamily{FamilyIPv6}) {
		t.Fatalf("Take = %v, want [IPv6] (the other adapter's dropped, duplicates merged)", got)
	}
	a.Notify(2, FamilyIPv4)
	a.Notify(1, FamilyIPv4)
	a.Notify(1, FamilyIPv6)
	if got := a.Take(); !slices.Equal(got, []IPFamily{FamilyIPv4, FamilyIPv6}) {
		t.Fatalf("Take = %v", got)
	}
	select {
	case <-a.Ready():
		t.Fatal("ready with nothing to take")
	default:
	}
}
