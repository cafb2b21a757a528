//go:build linux

package e2e

import (
	"fmt"
	"net"
	"sync"
	"testing"
)

// TestHubAndSpokes: a hub (a) with three spokes (b), each spoke on its own
// link. Spokes reach each other only through the hub, which forwards
// between its peers on the one tunnel interface, and all three spokes
// push 16 MiB to the hub at the same time, each stream intact.
func TestHubAndSpokes(t *testing.T) {
	const spokes = 3
	forEachPair(t, func(t *testing.T, a, b *Impl) {
		hubNS := NewNetns(t, "hub")
		hubNS.Sysctl("net.ipv4.ip_forward", "1")
		hub := StartDaemon(t, a, hubNS)
		var ns [spokes]*Netns
		var ds [spokes]*Daemon
		var peers []PeerConf
		for i := range spokes {
			ns[i] = NewNetns(t, fmt.Sprintf("spoke%d", i))
			hubDev, spokeDev := fmt.Sprintf("vs%d", i), "vh"
			Veth(t, hubNS, hubDev, ns[i], spokeDev, 0)
			hubNS.AddAddr(hubDev, fmt.Sprintf("10.77.%d.1/24", 10+i))
			ns[i].AddAddr(spokeDev, fmt.Sprintf("10.77.%d.2/24", 10+i))
			ds[i] = StartDaemon(t, b, ns[i])
			peers = append(peers, ds[i].PeerOf("", spokeInner(i)+"/32"))
		}
		hub.SetConf(peers...)
		hub.Up(0, "10.78.0.1/16")
		for i := range spokes {
			toHub := hub.PeerOf(hub.Endpoint(fmt.Sprintf("10.77.%d.1", 10+i)), "10.78.0.0/16")
			toHub.Keepalive = 0
			ds[i].SetConf(toHub)
			ds[i].Up(0, spokeInner(i)+"/16")
		}
		for i := range spokes {
			ns[i].Ping("10.78.0.1")
		}
		// Spoke to spoke, through the hub.
		for i := range spokes {
			j := (i + 1) % spokes
			ns[i].PingCount(spokeInner(j), 3)
		}

		var wg sync.WaitGroup
		for i := range spokes {
			wg.Go(func() {
				if _, err := transfer(ns[i], hubNS, net.JoinHostPort("10.78.0.1", fmt.Sprint(5300+i)), 16<<20, uint64(10+i)); err != nil {
					t.Errorf("spoke %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		for i, p := range hub.Peers() {
			if p.RxBytes < 16<<20 {
				t.Errorf("hub received %d bytes from spoke %s, want >= 16 MiB", p.RxBytes, i)
			}
		}
	})
}

// spokeInner is spoke i's tunnel address.
func spokeInner(i int) string { return fmt.Sprintf("10.78.%d.2", 10+i) }
