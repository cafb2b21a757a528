//go:build linux

package e2e

import (
	"testing"
)

// Addresses of the AllowedIPs topology: the server reaches peer 1 over
// 10.77.3.0/24 and peer 2 over 10.77.4.0/24; inside the tunnel peer 1 owns
// 10.78.0.0/16 and fd78::/32, and peer 2 the more specific 10.78.5.0/24 and
// fd78:0:5::/48.
const (
	aipServerOuter1 = "10.77.3.1"
	aipPeer1Outer   = "10.77.3.2"
	aipServerOuter2 = "10.77.4.1"
	aipPeer2Outer   = "10.77.4.2"
	aipServerInner  = "10.78.0.1"
	aipPeer1Inner   = "10.78.1.2"
	aipPeer2Inner   = "10.78.5.2"
	aipPeer2Absent  = "10.78.5.77" // inside peer 2's /24, no host there
	aipServerInner6 = "fd78::1"
	aipPeer1Inner6  = "fd78:0:1::2"
	aipPeer2Inner6  = "fd78:0:5::2"
)

// TestAllowedIPsMostSpecific: a server (a) with two peers (b) whose
// AllowedIPs overlap sends each packet to the peer with the longest
// matching prefix, whichever order the prefixes were configured in.
func TestAllowedIPsMostSpecific(t *testing.T) {
	forEachPair(t, func(t *testing.T, a, b *Impl) {
		nsS, ns1, ns2 := NewNetns(t, "server"), NewNetns(t, "peer1"), NewNetns(t, "peer2")
		Veth(t, nsS, "v1", ns1, "vs", 0)
		Veth(t, nsS, "v2", ns2, "vs", 0)
		nsS.AddAddr("v1", aipServerOuter1+"/24")
		nsS.AddAddr("v2", aipServerOuter2+"/24")
		ns1.AddAddr("vs", aipPeer1Outer+"/24")
		ns2.AddAddr("vs", aipPeer2Outer+"/24")

		server, p1, p2 := StartDaemon(t, a, nsS), StartDaemon(t, b, ns1), StartDaemon(t, b, ns2)
		wide := []string{"10.78.0.0/16", "fd78::/32"}
		narrow := []string{"10.78.5.0/24", "fd78:0:5::/48"}
		// The wide prefix is configured first: a table where the last
		// insertion wins would pass this, so it is re-inserted below.
		server.SetConf(p1.PeerOf(p1.Endpoint(aipPeer1Outer), wide...), p2.PeerOf(p2.Endpoint(aipPeer2Outer), narrow...))
		toServer := server.PeerOf("", aipServerInner+"/32", aipServerInner6+"/128")
		p1.SetConf(toServer)
		p2.SetConf(toServer)
		server.Up(0, aipServerInner+"/16", aipServerInner6+"/32")
		p1.Up(0, aipPeer1Inner+"/16", aipPeer1Inner6+"/32")
		p2.Up(0, aipPeer2Inner+"/16", aipPeer2Inner6+"/32")

		check := func(round string) {
			t.Helper()
			before := server.Peers()
			nsS.Ping(aipPeer2Inner)
			nsS.Ping(aipPeer2Inner6)
			// No host answers here, but the packets must still go to peer 2.
			_, _ = nsS.Run("ping", "-n", "-q", "-c", "3", "-i", "0.05", "-w", "1", aipPeer2Absent)
			mid := server.Peers()
			nsS.Ping(aipPeer1Inner)
			nsS.Ping(aipPeer1Inner6)
			after := server.Peers()

			k1, k2 := p1.Public.String(), p2.Public.String()
			// Pings towards peer 2: 2 answered + 3 unanswered echo
			// requests, each well over 84 bytes once encrypted.
			if d := mid[k2].TxBytes - before[k2].TxBytes; d < 5*84 {
				t.Errorf("%s: server sent %d bytes to peer 2 (/24) while pinging inside its /24, want >= %d", round, d, 5*84)
			}
			// Peer 1 may at most see a keepalive meanwhile, never the pings.
			if d := mid[k1].TxBytes - before[k1].TxBytes; d > 64 {
				t.Errorf("%s: server sent %d bytes to peer 1 (/16) while pinging inside peer 2's /24", round, d)
			}
			if d := after[k1].TxBytes - mid[k1].TxBytes; d < 2*84 {
				t.Errorf("%s: server sent %d bytes to peer 1 while pinging it, want >= %d", round, d, 2*84)
			}
			if d := after[k2].TxBytes - mid[k2].TxBytes; d > 64 {
				t.Errorf("%s: server sent %d bytes to peer 2 while pinging peer 1", round, d)
			}
			if got := after[k1].AllowedIPs; got != "10.78.0.0/16,fd78::/32" {
				t.Errorf("%s: peer 1 allowed ips %q", round, got)
			}
			if got := after[k2].AllowedIPs; got != "10.78.5.0/24,fd78:0:5::/48" {
				t.Errorf("%s: peer 2 allowed ips %q", round, got)
			}
		}
		check("wide first")

		// Insert the wide prefixes again, now after the narrow ones.
		server.Wg("set", server.Iface, "peer", p1.Public.String(), "allowed-ips", "")
		server.Wg("set", server.Iface, "peer", p1.Public.String(), "allowed-ips", "10.78.0.0/16,fd78::/32")
		check("wide last")
	})
}
