//go:build linux

package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// selftestChecks are the checks `warren selftest` runs on Linux, as its
// report names them.
var selftestChecks = []string{
	"throwaway addresses", "adapter driver", "in-process peer", "adapter and engine",
	"addresses (as the OS sees)", "routes (as the OS sees)", "MTU (as the OS sees)", "handshake",
	"ping IPv4", "ping IPv6", "ping IPv4, full MTU, DF", "ping IPv6, full MTU",
	"HTTP over IPv4", "HTTP over IPv6", "cleanup",
}

// TestSelftest runs the built binary's `warren selftest` the ways a user
// can on Linux: with the adapter moved into a namespace (--netns, the
// encrypted UDP staying on the outer loopback), entirely inside a
// namespace (ip netns exec), and with every offload off. Every check must
// pass, the exit status must be 0, and no adapter may be left behind.
func TestSelftest(t *testing.T) {
	requireImpl(t, warrenImpl)
	for _, tc := range []struct {
		name    string
		argv    func(ns *Netns) []string
		env     []string
		wantOut []string
	}{
		{name: "netns flag", argv: func(ns *Netns) []string {
			return []string{warrenImpl.Bin, "selftest", "--netns", ns.Name}
		}, wantOut: []string{"in network namespace /run/netns/", "virtio-net header on"}},
		{name: "inside netns", argv: func(ns *Netns) []string {
			return []string{"ip", "netns", "exec", ns.Name, warrenImpl.Bin, "selftest"}
		}, wantOut: []string{"in this network namespace"}},
		{name: "offloads off", argv: func(ns *Netns) []string {
			return []string{warrenImpl.Bin, "selftest", "--netns", ns.Name}
		}, env: []string{"WARREN_TUN_OFFLOAD=0", "WARREN_UDP_GSO=0", "WARREN_UDP_GRO=0"},
			wantOut: []string{"virtio-net header off", "UDP GSO and GRO off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := NewNetns(t, "selftest")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			argv := tc.argv(ns)
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			cmd.Env = append(os.Environ(), tc.env...)
			out, err := cmd.CombinedOutput()
			t.Logf("%s:\n%s", strings.Join(argv, " "), out)
			if err != nil {
				t.Fatalf("warren selftest: %v", err)
			}
			for _, c := range selftestChecks {
				if !strings.Contains(string(out), "PASS  "+c+" ") {
					t.Errorf("no passed %q in the report", c)
				}
			}
			for _, bad := range []string{"FAIL  ", "SKIP  "} {
				if strings.Contains(string(out), bad) {
					t.Errorf("the report has a %q line", strings.TrimSpace(bad))
				}
			}
			for _, w := range append(tc.wantOut, "Result: all 15 checks that ran passed.") {
				if !strings.Contains(string(out), w) {
					t.Errorf("the report lacks %q", w)
				}
			}
			if links := ns.IP("-o", "link", "show"); strings.Contains(links, "wrnst") {
				t.Errorf("an adapter is left in %s:\n%s", ns.Name, links)
			}
		})
	}
}
