//go:build linux

package e2e

import (
	"fmt"
	"testing"
)

// TestSourceOfAnotherPeer: the AllowedIPs source check asks whether the
// inner source belongs to the peer the packet came from, not merely to
// some peer. Hub a has two peers, b and c, each on its own link; c gives
// itself b's tunnel address (v4 and v6) and pings the hub from it: c
// encrypts to the hub, which must drop what it decrypts, since that source
// is b's. c's own address and b's pings from b still get through.
func TestSourceOfAnotherPeer(t *testing.T) {
	forEachPairParallel(t, func(t *testing.T, a, b *Impl) {
		hubNS := NewNetns(t, "hub")
		hub := StartDaemon(t, a, hubNS)
		inner4 := func(i int) string { return fmt.Sprintf("10.78.0.%d", 2+i) }
		inner6 := func(i int) string { return fmt.Sprintf("fd78::%d", 2+i) }
		var ns [2]*Netns
		var spokes [2]*Daemon
		var peers []PeerConf
		for i := range 2 {
			ns[i] = NewNetns(t, fmt.Sprintf("spoke%d", i))
			hubDev := fmt.Sprintf("vs%d", i)
			Veth(t, hubNS, hubDev, ns[i], "vh", 0)
			hubNS.AddAddr(hubDev, fmt.Sprintf("10.77.%d.1/24", 20+i))
			ns[i].AddAddr("vh", fmt.Sprintf("10.77.%d.2/24", 20+i))
			spokes[i] = StartDaemon(t, b, ns[i])
			peers = append(peers, spokes[i].PeerOf("", inner4(i)+"/32", inner6(i)+"/128"))
		}
		hub.SetConf(peers...)
		hub.Up(0, innerA4+"/16", innerA6+"/64")
		for i := range 2 {
			spokes[i].SetConf(hub.PeerOf(hub.Endpoint(fmt.Sprintf("10.77.%d.1", 20+i)), "10.78.0.0/16", "fd78::/64"))
			spokes[i].Up(0, inner4(i)+"/16", inner6(i)+"/64")
		}
		bNS, cNS, c := ns[0], ns[1], spokes[1]
		bNS.Ping(innerA4)
		cNS.Ping(innerA4)
		cNS.Ping(innerA6)

		// c borrows b's addresses; the hub must not deliver what c sends
		// from them.
		cNS.AddAddr(c.Iface, inner4(0)+"/32")
		cNS.AddAddr(c.Iface, inner6(0)+"/128")
		rx := tunRxPackets(t, hubNS, hub.Iface)
		rxPeer := hub.Peer(c.Public).RxBytes
		cNS.NoPing(innerA4, "-I", inner4(0))
		cNS.NoPing(innerA6, "-I", inner6(0))
		if d := tunRxPackets(t, hubNS, hub.Iface) - rx; d != 0 {
			t.Errorf("%s delivered %d packets from c with b's address as their source", a.Name, d)
		}
		if d := hub.Peer(c.Public).RxBytes - rxPeer; d == 0 {
			t.Errorf("%s received nothing from c meanwhile: the spoofed pings never reached it, so the test proves nothing", a.Name)
		}
		cNS.PingCount(innerA4, 3, "-I", inner4(1))
		bNS.PingCount(innerA4, 3)
		bNS.PingCount(innerA6, 3)
	})
}
