//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestShowMatchesWg: for a device of each implementation, warren's `show`
// and `showconf` print exactly what Debian's wg prints for the same device
// (only the ticking "latest handshake: ... ago" text of the pretty output
// is masked). The reference answers a UAPI get with its peers in random
// order, so peers are compared as a set: peer lines and peer sections are
// sorted before comparing.
func TestShowMatchesWg(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Impl) {
		requireImpl(t, warrenImpl)
		p := newPairNet(t, im, im, pairOpts{})
		// Give the device more to show: a fwmark, and a second peer with a
		// preshared key, a keepalive and several allowed IPs.
		_, pub3 := NewKeypair(t)
		psk, _ := NewKeypair(t)
		pskFile := t.TempDir() + "/psk"
		writeFile(t, pskFile, psk.String()+"\n")
		p.A.Wg("set", p.A.Iface, "fwmark", "0x1234", "peer", pub3.String(),
			"preshared-key", pskFile, "persistent-keepalive", "25",
			"allowed-ips", "10.78.9.0/24,fd78:9::/64,10.78.10.1/32", "endpoint", "10.77.0.9:51820")
		p.NSA.PingCount(innerB4, 2)

		cases := [][]string{
			{"show", p.A.Iface, "dump"},
			{"showconf", p.A.Iface},
			{"show", p.A.Iface},
		}
		for _, field := range []string{"public-key", "private-key", "listen-port", "fwmark", "peers",
			"preshared-keys", "endpoints", "allowed-ips", "latest-handshakes", "persistent-keepalive", "transfer"} {
			cases = append(cases, []string{"show", p.A.Iface, field})
		}
		for _, args := range cases {
			name := strings.Join(append([]string{args[0]}, args[2:]...), "_")
			t.Run(name, func(t *testing.T) {
				// Counters may tick between the two commands (a keepalive,
				// a rekey); retry a few times before calling it a mismatch.
				var want, got string
				for range 3 {
					want = normalizeShow(p.A.Wg(args...))
					got = normalizeShow(p.NSA.Must(append([]string{warrenImpl.Bin}, args...)...))
					if got == want {
						return
					}
					time.Sleep(200 * time.Millisecond)
				}
				t.Errorf("warren %s differs from wg's:\n%s", strings.Join(args, " "), lineDiff(want, got))
			})
		}

		// The list of interfaces is machine-wide (the UAPI socket
		// directory), so other tests' devices may come and go meanwhile.
		t.Run("show_interfaces", func(t *testing.T) {
			var want, got string
			for range 5 {
				want = p.A.Wg("show", "interfaces")
				got = p.NSA.Must(warrenImpl.Bin, "show", "interfaces")
				if got == want {
					if !strings.Contains(" "+strings.TrimSpace(got)+" ", " "+p.A.Iface+" ") {
						t.Errorf("show interfaces %q lacks %s", got, p.A.Iface)
					}
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Errorf("warren show interfaces differs from wg's:\n%s", lineDiff(want, got))
		})

		// Invoked through a link named wg, warren is wg.
		t.Run("as_wg", func(t *testing.T) {
			link := filepath.Join(t.TempDir(), "wg")
			if err := os.Symlink(warrenImpl.Bin, link); err != nil {
				t.Fatal(err)
			}
			want := normalizeShow(p.A.Wg("showconf", p.A.Iface))
			if got := normalizeShow(p.NSA.Must(link, "showconf", p.A.Iface)); got != want {
				t.Errorf("warren linked as wg: showconf differs:\n%s", lineDiff(want, got))
			}
		})

		// A device that does not exist: both fail with wg's message. (Its
		// reason differs with the kernel: without the wireguard module wg
		// reports the netlink family's "Protocol not supported".)
		t.Run("show_missing", func(t *testing.T) {
			missing := nextIface()
			outWg, errWg := p.NSA.Run("wg", "show", missing)
			outWarren, errWarren := p.NSA.Run(warrenImpl.Bin, "show", missing)
			if errWg == nil || errWarren == nil {
				t.Fatalf("show of a missing device: wg %v, warren %v; want both to fail", errWg, errWarren)
			}
			const prefix = "Unable to access interface: "
			if !strings.HasPrefix(outWarren, prefix) || !strings.HasPrefix(outWg, prefix) {
				t.Errorf("show of a missing device: warren says %q, wg says %q", outWarren, outWg)
			}
		})
	})
}

var handshakeAge = regexp.MustCompile(`(?m)^(  latest handshake: ).*$`)

// normalizeShow hides the seconds-ago text that ticks between commands and
// puts peers in a canonical order. Output with sections (showconf, the
// pretty show) keeps its first section (the interface) first and sorts the
// others; line-oriented output (dump, single fields) has its lines sorted.
func normalizeShow(s string) string {
	s = handshakeAge.ReplaceAllString(s, "${1}<masked>")
	if strings.Contains(s, "\n\n") {
		sections := strings.Split(strings.TrimRight(s, "\n"), "\n\n")
		slices.Sort(sections[1:])
		return strings.Join(sections, "\n\n") + "\n"
	}
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// lineDiff shows how got differs from want, line by line: "-" for lines
// only wg printed (want), "+" for lines only warren printed (got), from a
// longest-common-subsequence alignment.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	// lcs[i][j] is the LCS length of w[i:] and g[j:].
	lcs := make([][]int, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			fmt.Fprintf(&b, "  %q\n", w[i])
			i, j = i+1, j+1
		case j < len(g) && (i == len(w) || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(&b, "+ %q\n", g[j])
			j++
		default:
			fmt.Fprintf(&b, "- %q\n", w[i])
			i++
		}
	}
	return "(- wg only, + warren only)\n" + b.String()
}
