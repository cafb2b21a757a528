package selftest

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netnstest"
	"github.com/warren-vpn/warren/internal/testenv"
)

// needRoot skips t unless it runs as root with /dev/net/tun and ip(8);
// in CI it fails instead (testenv), so that CI cannot pass by skipping.
func needRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireTUN(t)
	testenv.RequireTool(t, "ip", "iproute2")
}

// linksIn lists the interfaces of namespace ns.
func linksIn(t *testing.T, ns string) string {
	t.Helper()
	return netnstest.IP(t, "-n", ns, "-o", "link", "show")
}

// TestSelftestInNetns runs `warren selftest --netns NS` in a namespace of
// its own and checks that every check passed and nothing is left behind.
func TestSelftestInNetns(t *testing.T) {
	needRoot(t)
	ns := netnstest.New(t, "wrnst")
	var out, errOut bytes.Buffer
	code := Main("warren selftest", []string{"--netns", ns}, &out, &errOut)
	t.Logf("report:\n%s%s", out.String(), errOut.String())
	if code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
	for _, name := range []string{chkAddrs, chkDriver, chkPeer, chkAdapter, chkOSAddrs, chkRoutes, chkMTU, chkHandshake,
		chkPing4, chkPing6, chkPingMTU4, chkPingMTU6, chkHTTP4, chkHTTP6, chkCleanup} {
		if !strings.Contains(out.String(), "PASS  "+name+" ") {
			t.Errorf("report lacks a passed %q", name)
		}
	}
	if strings.Contains(out.String(), "FAIL") || strings.Contains(out.String(), "SKIP") {
		t.Errorf("report has failed or skipped checks")
	}
	for _, fact := range []string{"kernel", "warren", "adapter", "TUN offloads", "UDP offloads", "MTU"} {
		if !strings.Contains(out.String(), "\n  "+fact+" ") {
			t.Errorf("report lacks the fact %q", fact)
		}
	}
	if links := linksIn(t, ns); strings.Contains(links, "wrnst") {
		t.Errorf("the adapter is still there after the selftest:\n%s", links)
	}
}

// TestSelftestReportsBrokenStep removes the adapter's IPv4 address once it
// is configured: the IPv4 checks must fail with that reason, IPv6 must
// still pass, the exit status must be non-zero, and the cleanup must run.
func TestSelftestReportsBrokenStep(t *testing.T) {
	needRoot(t)
	ns := netnstest.New(t, "wrnst")
	var removed netip.Prefix
	opts := Options{Netns: ns, afterUp: func(a adapter) error {
		addrs, err := a.addresses()
		if err != nil {
			return err
		}
		for _, p := range addrs {
			if p.Addr().Is4() {
				netnstest.IP(t, "-n", ns, "addr", "del", p.String(), "dev", a.name())
				removed = p
				return nil
			}
		}
		return errors.New("no IPv4 address to remove")
	}}
	rep := runLogged(context.Background(), t, opts)
	if rep.OK() {
		t.Fatal("report says OK with the adapter's IPv4 address removed")
	}
	want := map[string]Status{
		chkAdapter: Pass, chkOSAddrs: Fail, chkRoutes: Fail, chkMTU: Pass,
		chkPing4: Fail, chkPingMTU4: Fail, chkHTTP4: Fail,
		chkPing6: Pass, chkPingMTU6: Pass, chkHTTP6: Pass, chkCleanup: Pass,
	}
	for name, st := range want {
		c := rep.Check(name)
		if c == nil {
			t.Errorf("no check %q", name)
			continue
		}
		if c.Status != st {
			t.Errorf("%s: %v (%s), want %v", name, c.Status, c.Detail, st)
		}
	}
	if c := rep.Check(chkOSAddrs); c != nil && !strings.Contains(c.Detail, "does not report "+removed.String()) {
		t.Errorf("addresses check does not name the missing %v: %s", removed, c.Detail)
	}
	peer4 := removed.Addr().Next().String()
	if c := rep.Check(chkRoutes); c != nil && !strings.Contains(c.Detail, "no route to "+peer4) {
		t.Errorf("routes check does not say there is no route to %s: %s", peer4, c.Detail)
	}
	if c := rep.Check(chkPing4); c != nil && !strings.Contains(c.Detail, "unreachable") {
		t.Errorf("ping IPv4 does not say why it failed: %s", c.Detail)
	}
	if links := linksIn(t, ns); strings.Contains(links, "wrnst") {
		t.Errorf("the adapter is still there after the selftest:\n%s", links)
	}
}

// TestSelftestIPv6Disabled runs in a namespace with IPv6 switched off:
// the IPv6 checks are skipped saying so, and the selftest passes on IPv4.
func TestSelftestIPv6Disabled(t *testing.T) {
	needRoot(t)
	ns := netnstest.New(t, "wrnst")
	out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-q", "-w",
		"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1").CombinedOutput()
	if err != nil {
		t.Fatalf("disable IPv6 in %s: %v\n%s", ns, err, out)
	}
	rep := runLogged(context.Background(), t, Options{Netns: ns})
	if !rep.OK() {
		t.Error("a host without IPv6 fails the selftest")
	}
	for _, name := range []string{chkPing6, chkPingMTU6, chkHTTP6} {
		c := rep.Check(name)
		if c == nil || c.Status != Skip || !errors.Is(c.Err, ErrFamily) || !strings.Contains(c.Detail, "IPv6 is disabled") {
			t.Errorf("%s: %+v, want skipped because IPv6 is disabled", name, c)
		}
	}
	for _, name := range []string{chkOSAddrs, chkRoutes, chkHandshake, chkPing4, chkPingMTU4, chkHTTP4, chkCleanup} {
		if c := rep.Check(name); c == nil || c.Status != Pass {
			t.Errorf("%s: %+v, want passed", name, c)
		}
	}
}

// TestSelftestInterrupted cancels the run once the adapter is up, as
// Ctrl-C does: the rest is skipped as interrupted and the adapter removed.
func TestSelftestInterrupted(t *testing.T) {
	needRoot(t)
	ns := netnstest.New(t, "wrnst")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep := runLogged(ctx, t, Options{Netns: ns, afterUp: func(adapter) error { cancel(); return nil }})
	if !rep.Interrupted || rep.OK() {
		t.Errorf("Interrupted=%v OK=%v, want interrupted and not OK", rep.Interrupted, rep.OK())
	}
	if c := rep.Check(chkPing4); c == nil || !errors.Is(c.Err, ErrInterrupted) {
		t.Errorf("ping IPv4 after the interrupt: %+v, want skipped as interrupted", c)
	}
	if c := rep.Check(chkCleanup); c == nil || c.Status != Pass {
		t.Errorf("cleanup: %+v, want passed", c)
	}
	if links := linksIn(t, ns); strings.Contains(links, "wrnst") {
		t.Errorf("the adapter is still there after the interrupted selftest:\n%s", links)
	}
}

// TestSelftestRefusesNonRoot runs the test binary as nobody: Run must
// refuse with ErrNotPrivileged before creating anything.
func TestSelftestRefusesNonRoot(t *testing.T) {
	if os.Getenv("WARREN_SELFTEST_AS_NOBODY") == "1" {
		_, err := Run(context.Background(), Options{})
		if !errors.Is(err, ErrNotPrivileged) || !strings.Contains(err.Error(), "must run as root") {
			t.Fatalf("Run as uid %d: %v, want ErrNotPrivileged saying to run as root", os.Geteuid(), err)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := testenv.AsNobody(ctx, t, "-test.run=^TestSelftestRefusesNonRoot$", "-test.v")
	cmd.Env = append(os.Environ(), "WARREN_SELFTEST_AS_NOBODY=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("as nobody, the test did not run:\n%s", out)
	}
}
