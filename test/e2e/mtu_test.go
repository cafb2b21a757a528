//go:build linux

package e2e

import (
	"net"
	"strings"
	"testing"
	"time"
)

// jumboFirstPing bounds the first jumbo ping through a fresh tunnel.
const jumboFirstPing = 3 * time.Second

// TestJumboMTU: with a 9100-byte veth and a 9000-byte tunnel, 8900-byte
// pings with Don't Fragment and a full-size 8972-byte IPv4 ping cross the
// tunnel in both directions, over IPv4 and IPv6 outer endpoints, and a TCP
// transfer with jumbo segments arrives intact.
func TestJumboMTU(t *testing.T) {
	for _, outer := range []struct {
		name   string
		outer6 bool
	}{{"outer4", false}, {"outer6", true}} {
		t.Run(outer.name, func(t *testing.T) {
			forEachPair(t, func(t *testing.T, a, b *Impl) {
				p := newPairNet(t, a, b, pairOpts{outer6: outer.outer6, vethMTU: 9100, tunMTU: 9000})
				for _, d := range []*Daemon{p.A, p.B} {
					if out := d.NS.IP("link", "show", "dev", d.Iface); !strings.Contains(out, " mtu 9000 ") {
						t.Fatalf("%s: tunnel MTU is not 9000:\n%s", d.Impl.Name, out)
					}
				}
				// The first jumbo packets right after the MTU change must
				// get through (handshake included): the reference needs
				// milliseconds. A daemon still sized for the old MTU loses
				// them, and ping's one-second retries show it.
				start := time.Now()
				p.NSA.Ping(innerB4, "-s", "8900", "-M", "do")
				if took := time.Since(start); took > jumboFirstPing {
					t.Errorf("first 8900-byte ping after setting MTU 9000 took %v (want < %v): jumbo packets were lost", took.Round(time.Millisecond), jumboFirstPing)
				}
				for _, c := range []struct {
					from *Netns
					to   string
					size string
				}{
					{p.NSA, innerB4, "8972"},
					{p.NSB, innerA4, "8972"},
					{p.NSA, innerB6, "8900"},
					{p.NSB, innerA6, "8900"},
					{p.NSB, innerA4, "8900"},
				} {
					c.from.PingCount(c.to, 3, "-s", c.size, "-M", "do")
				}
				d1 := Transfer(t, p.NSA, p.NSB, net.JoinHostPort(innerB4, "5202"), 8<<20, 3)
				d2 := Transfer(t, p.NSB, p.NSA, net.JoinHostPort(innerA6, "5202"), 8<<20, 4)
				t.Logf("8 MiB with jumbo frames: %s -> %s in %v, back in %v", a.Name, b.Name, d1.Round(time.Millisecond), d2.Round(time.Millisecond))
			})
		})
	}
}
