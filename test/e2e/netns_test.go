//go:build linux

package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestContainerPattern: the daemon (a) creates its interface in namespace
// "home", the interface is moved into namespace "box" and configured
// there; traffic from inside box flows through the tunnel while the UDP
// socket stays in home, where the peer (b) sees it.
func TestContainerPattern(t *testing.T) {
	forEachPair(t, func(t *testing.T, a, b *Impl) {
		home, box, peerNS := NewNetns(t, "home"), NewNetns(t, "box"), NewNetns(t, "peer")
		Veth(t, home, "vh", peerNS, "vp", 0)
		home.AddAddr("vh", outerA4+"/24")
		peerNS.AddAddr("vp", outerB4+"/24")

		d, peer := StartDaemon(t, a, home), StartDaemon(t, b, peerNS)
		d.SetConf(peer.PeerOf(peer.Endpoint(outerB4), innerB4+"/32", innerB6+"/128"))
		peer.SetConf(d.PeerOf("", innerA4+"/32", innerA6+"/128"))
		peer.Up(0, innerB4+"/24", innerB6+"/64")

		home.IP("link", "set", "dev", d.Iface, "netns", box.Name)
		d.NS = box // ip and wg commands for the interface now run in box
		d.Up(0, innerA4+"/24", innerA6+"/64")
		if out := box.IP("-o", "link", "show"); strings.Count(out, "\n") != 2 || !strings.Contains(out, d.Iface) {
			t.Fatalf("box should hold only lo and %s:\n%s", d.Iface, out)
		}

		box.Ping(innerB4)
		box.PingCount(innerB6, 3)
		peerNS.PingCount(innerA4, 3)
		if ep := peer.WaitEndpoint(d.Public, outerA4, 5*time.Second); ep != d.Endpoint(outerA4) {
			t.Errorf("peer sees the boxed interface at %s, want %s (the UDP socket in home)", ep, d.Endpoint(outerA4))
		}
	})
}
