//go:build linux

package e2e

import (
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestReconfigure: a running tunnel survives changes made while it
// carries traffic: a new listen port, a new private key, the interface
// going down and up, and an endpoint on the responder's second address.
func TestReconfigure(t *testing.T) {
	forEachPair(t, func(t *testing.T, a, b *Impl) {
		t.Run("listen-port", func(t *testing.T) {
			p := newPairNet(t, a, b, pairOpts{})
			p.NSA.Ping(innerB4)
			p.A.Port += 7
			p.A.Wg("set", p.A.Iface, "listen-port", strconv.Itoa(p.A.Port))
			if got := p.A.Wg("show", p.A.Iface, "listen-port"); got != strconv.Itoa(p.A.Port)+"\n" {
				t.Errorf("listen-port shows %q, want %d", got, p.A.Port)
			}
			p.NSA.Ping(innerB4)
			if ep := p.B.WaitEndpoint(p.A.Public, outerA4, 5*time.Second); ep != p.A.Endpoint(outerA4) {
				t.Errorf("responder still sends to %s, want the new port %s", ep, p.A.Endpoint(outerA4))
			}
			p.NSB.PingCount(innerA4, 3)
		})

		t.Run("private-key", func(t *testing.T) {
			p := newPairNet(t, a, b, pairOpts{})
			p.NSA.Ping(innerB4)
			oldPub := p.B.Public
			p.B.Private, p.B.Public = NewKeypair(t)
			file := filepath.Join(t.TempDir(), "key")
			writeFile(t, file, p.B.Private.String()+"\n")
			p.B.Wg("set", p.B.Iface, "private-key", file)
			if got := p.B.Wg("show", p.B.Iface, "public-key"); got != p.B.Public.String()+"\n" {
				t.Fatalf("public-key shows %q after the key change, want %s", got, p.B.Public)
			}
			p.A.Wg("set", p.A.Iface, "peer", oldPub.String(), "remove",
				"peer", p.B.Public.String(), "endpoint", p.B.Endpoint(outerB4), "allowed-ips", innerB4+"/32,"+innerB6+"/128")
			p.NSA.Ping(innerB4)
			p.NSB.PingCount(innerA4, 3)
			if hs := p.A.Peer(p.B.Public).LastHandshake; hs == 0 {
				t.Errorf("no handshake with the new key")
			}
		})

		t.Run("link-down-up", func(t *testing.T) {
			p := newPairNet(t, a, b, pairOpts{})
			p.NSA.Ping(innerB4)
			// The side that went down speaks first: an implementation may
			// drop its sessions when down (as the kernel does), and then
			// only its own new handshake restores the tunnel quickly; the
			// other side would wait out its 15 s "stopped hearing back"
			// timer.
			for _, c := range []struct {
				d    *Daemon
				from *Netns
				to   string
				back *Netns
				addr string
			}{{p.A, p.NSA, innerB4, p.NSB, innerA4}, {p.B, p.NSB, innerA4, p.NSA, innerB4}} {
				c.d.NS.IP("link", "set", "dev", c.d.Iface, "down")
				time.Sleep(200 * time.Millisecond)
				c.d.NS.IP("link", "set", "dev", c.d.Iface, "up")
				c.from.Ping(c.to)
				c.back.PingCount(c.addr, 3)
			}
			if got := p.A.Wg("show", p.A.Iface, "listen-port"); got != strconv.Itoa(p.A.Port)+"\n" {
				t.Errorf("listen-port after down/up is %q, want %d", got, p.A.Port)
			}
		})

		t.Run("secondary-address", func(t *testing.T) {
			// A reaches B at B's second address. Traffic must flow. Where
			// A's endpoint ends up is only logged: replying from the
			// address the initiation came to ("sticky sockets") is not
			// what the reference does here (it answers from the primary
			// address, and A roams there), so it is not required.
			const second = "10.77.0.3"
			p := newPairNet(t, a, b, pairOpts{})
			p.NSB.AddAddr("vb", second+"/24")
			p.A.Wg("set", p.A.Iface, "peer", p.B.Public.String(), "endpoint", p.B.Endpoint(second))
			p.NSA.Ping(innerB4)
			p.NSB.PingCount(innerA4, 3)
			p.NSA.PingCount(innerB4, 3)
			ep := p.A.Peer(p.B.Public).Endpoint
			if h, _, _ := net.SplitHostPort(ep); h != second {
				t.Logf("%s answered from another address than the one it was reached at: %s's endpoint moved to %s", b.Name, a.Name, ep)
			}
		})
	})
}
