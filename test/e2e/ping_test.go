//go:build linux

package e2e

import (
	"net"
	"strings"
	"testing"
	"time"
)

// Addresses of the two-namespace topology: outer addresses on the veth
// between namespaces a and b, inner addresses on the tunnel.
const (
	outerA4 = "10.77.0.1"
	outerB4 = "10.77.0.2"
	outerA6 = "fd77::1"
	outerB6 = "fd77::2"
	innerA4 = "10.78.0.1"
	innerB4 = "10.78.0.2"
	innerA6 = "fd78::1"
	innerB6 = "fd78::2"
)

// pairOpts shapes a pairNet.
type pairOpts struct {
	outer6    bool // endpoints on IPv6 outer addresses
	linkLocal bool // endpoints on IPv6 link-local addresses (with a zone)
	vethMTU   int  // 0 for the default
	tunMTU    int  // 0 for the daemon's default
}

// pairNet is two namespaces joined by a veth, each running one daemon. A
// knows B's endpoint and initiates; B learns A's endpoint from the
// handshake.
type pairNet struct {
	NSA, NSB       *Netns
	A, B           *Daemon
	OuterA, OuterB string
}

func newPairNet(t *testing.T, a, b *Impl, o pairOpts) *pairNet {
	t.Helper()
	p := &pairNet{NSA: NewNetns(t, "a"), NSB: NewNetns(t, "b"), OuterA: outerA4, OuterB: outerB4}
	if o.outer6 {
		p.OuterA, p.OuterB = outerA6, outerB6
	}
	if o.linkLocal {
		p.OuterA, p.OuterB = "fe80::a1%vb", "fe80::b1%va" // as each side's peer sees it
	}
	Veth(t, p.NSA, "va", p.NSB, "vb", o.vethMTU)
	p.NSA.AddAddr("va", outerA4+"/24")
	p.NSA.AddAddr("va", outerA6+"/64")
	p.NSB.AddAddr("vb", outerB4+"/24")
	p.NSB.AddAddr("vb", outerB6+"/64")
	if o.linkLocal {
		p.NSA.AddAddr("va", "fe80::a1/64")
		p.NSB.AddAddr("vb", "fe80::b1/64")
	}
	p.A = StartDaemon(t, a, p.NSA)
	p.B = StartDaemon(t, b, p.NSB)
	p.A.SetConf(p.B.PeerOf(p.B.Endpoint(p.OuterB), innerB4+"/32", innerB6+"/128"))
	p.B.SetConf(p.A.PeerOf("", innerA4+"/32", innerA6+"/128"))
	p.A.Up(o.tunMTU, innerA4+"/24", innerA6+"/64")
	p.B.Up(o.tunMTU, innerB4+"/24", innerB6+"/64")
	return p
}

// TestPing: ping through the tunnel, IPv4 and IPv6 inside, over IPv4, IPv6
// and IPv6 link-local outer endpoints (fe80::...%dev, the zone naming the
// outer interface); the responder learns the initiator's endpoint.
func TestPing(t *testing.T) {
	for _, outer := range []struct {
		name string
		opts pairOpts
	}{{"outer4", pairOpts{}}, {"outer6", pairOpts{outer6: true}}, {"linklocal", pairOpts{linkLocal: true}}} {
		t.Run(outer.name, func(t *testing.T) {
			forEachPair(t, func(t *testing.T, a, b *Impl) {
				p := newPairNet(t, a, b, outer.opts)
				p.NSA.Ping(innerB4)
				p.NSA.Ping(innerB6)
				p.NSB.PingCount(innerA4, 5)
				p.NSB.PingCount(innerA6, 5)
				p.NSA.PingCount(innerB4, 5)
				// Inner packets bigger than the tunnel MTU travel as
				// fragments, each its own tunnel packet.
				p.NSA.PingCount(innerB4, 3, "-s", "3000")
				p.NSB.PingCount(innerA6, 3, "-s", "3000")

				// The default tunnel MTU is wireguard-go's 1420.
				for _, d := range []*Daemon{p.A, p.B} {
					if out := d.NS.IP("link", "show", "dev", d.Iface); !strings.Contains(out, " mtu 1420 ") {
						t.Errorf("%s: default MTU is not 1420:\n%s", d.Impl.Name, out)
					}
				}

				ep := p.B.WaitEndpoint(p.A.Public, p.OuterA, 5*time.Second)
				if want := p.A.Endpoint(p.OuterA); ep != want {
					t.Errorf("responder's endpoint for initiator = %s, want %s", ep, want)
				}
				for _, d := range []*Daemon{p.A, p.B} {
					peer := d.Peers()
					if len(peer) != 1 {
						t.Fatalf("%s: %d peers, want 1", d.Impl.Name, len(peer))
					}
					for _, pp := range peer {
						if pp.LastHandshake == 0 || pp.RxBytes == 0 || pp.TxBytes == 0 {
							t.Errorf("%s (%s): peer shows no handshake or traffic: %+v", d.Impl.Name, d.Iface, pp)
						}
						if age := time.Since(time.Unix(pp.LastHandshake, 0)); age < -2*time.Second || age > time.Minute {
							t.Errorf("%s: latest handshake %v ago", d.Impl.Name, age)
						}
					}
				}
				if h, _, err := net.SplitHostPort(p.A.Peer(p.B.Public).Endpoint); err != nil || h != p.OuterB {
					t.Errorf("initiator's endpoint host = %q (%v), want %s", h, err, p.OuterB)
				}
			})
		})
	}
}
