//go:build linux

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/testenv"
)

// Addresses of the NAT topology: client (10.77.1.0/24) — router — server
// (10.77.2.0/24). The server has no route back to the client's network, so
// only the router's source NAT lets the client through.
const (
	natClientOld   = "10.77.1.2"
	natClientNew   = "10.77.1.5"
	natRouterIn    = "10.77.1.1"
	natRouterOut   = "10.77.2.1"
	natRouterOut2  = "10.77.2.3"
	natServerOuter = "10.77.2.2"
	natClientInner = "10.78.1.2"
	natServerInner = "10.78.1.1"
)

// TestNATRoaming: a client behind a masquerading router keeps its tunnel
// alive with PersistentKeepalive; the server learns the router's address as
// the client's endpoint and answers through the NAT. Then the client moves
// (new address, and the router now maps it to another public address): the
// server's endpoint follows and traffic resumes in both directions.
func TestNATRoaming(t *testing.T) {
	requireEnv(t)
	testenv.RequireTool(t, "nft", "nftables")
	// a is the client (initiator behind NAT), b the server.
	forEachPair(t, func(t *testing.T, a, b *Impl) {
		nsC, nsR, nsS := NewNetns(t, "client"), NewNetns(t, "router"), NewNetns(t, "server")
		Veth(t, nsC, "vc", nsR, "rc", 0)
		Veth(t, nsR, "rs", nsS, "vs", 0)
		nsC.AddAddr("vc", natClientOld+"/24")
		nsC.IP("route", "add", "default", "via", natRouterIn)
		nsR.AddAddr("rc", natRouterIn+"/24")
		nsR.AddAddr("rs", natRouterOut+"/24")
		nsR.AddAddr("rs", natRouterOut2+"/24")
		nsS.AddAddr("vs", natServerOuter+"/24")
		nsR.Sysctl("net.ipv4.ip_forward", "1")
		setSNAT(t, nsR, natClientOld, natRouterOut)

		client, server := StartDaemon(t, a, nsC), StartDaemon(t, b, nsS)
		srv := server.PeerOf(server.Endpoint(natServerOuter), natServerInner+"/32")
		srv.Keepalive = 1
		// The server first, so that the client's first initiation (sent
		// as soon as the keepalive is configured) finds it ready.
		server.SetConf(client.PeerOf("", natClientInner+"/32"))
		server.Up(0, natServerInner+"/24")
		client.SetConf(srv)
		client.Up(0, natClientInner+"/24")

		nsC.Ping(natServerInner)
		ep1 := server.WaitEndpoint(client.Public, natRouterOut, 5*time.Second)
		t.Logf("server sees the client at %s", ep1)
		nsS.PingCount(natClientInner, 3)

		// The client roams: its address changes and the router maps the
		// new flow to its other public address. The client's keepalives
		// must carry the news to the server without the client sending
		// any traffic of its own.
		setSNAT(t, nsR, natClientNew, natRouterOut2)
		nsC.IP("addr", "del", natClientOld+"/24", "dev", "vc")
		nsC.AddAddr("vc", natClientNew+"/24")
		nsC.IP("route", "replace", "default", "via", natRouterIn)
		ep2 := server.WaitEndpoint(client.Public, natRouterOut2, 15*time.Second)
		t.Logf("after roaming the server sees the client at %s", ep2)
		nsS.Ping(natClientInner)
		nsS.PingCount(natClientInner, 3)
		nsC.Ping(natServerInner)
		nsC.PingCount(natServerInner, 3)
	})
}

// setSNAT makes the router in ns translate traffic from src to snat,
// replacing any earlier rule.
func setSNAT(t *testing.T, ns *Netns, src, snat string) {
	t.Helper()
	rules := strings.Join([]string{
		"table ip e2enat",
		"delete table ip e2enat",
		"table ip e2enat {",
		"  chain post {",
		"    type nat hook postrouting priority srcnat; policy accept;",
		`    oifname "rs" ip saddr ` + src + " snat to " + snat,
		"  }",
		"}",
	}, "\n")
	cmd := ns.Command(t.Context(), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft in %s: %v\n%s", ns.Name, err, out)
	}
}
