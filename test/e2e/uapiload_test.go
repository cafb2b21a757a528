//go:build linux

package e2e

import (
	"net"
	"testing"
	"time"
)

// TestUAPIUnderLoad: while 32 MiB cross the tunnel, both devices are read
// (wg show dump) and reconfigured (keepalive toggled, allowed IPs
// re-set) over and over. Every UAPI exchange must answer promptly (no
// lock held across the data path), and the stream still arrives intact.
func TestUAPIUnderLoad(t *testing.T) {
	const slow = 5 * time.Second
	forEachPair(t, func(t *testing.T, a, b *Impl) {
		p := newPairNet(t, a, b, pairOpts{})
		p.NSA.Ping(innerB4)
		done := make(chan error, 1)
		go func() {
			_, err := transfer(p.NSA, p.NSB, net.JoinHostPort(innerB4, "5204"), 32<<20, 7)
			done <- err
		}()

		sides := []struct {
			d     *Daemon
			peer  Key
			allow string
		}{
			{p.A, p.B.Public, innerB4 + "/32," + innerB6 + "/128"},
			{p.B, p.A.Public, innerA4 + "/32," + innerA6 + "/128"},
		}
		var rounds int
		var worst time.Duration
		deadline := time.Now().Add(helperTimeout)
	loop:
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				break loop
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("transfer did not finish")
			}
			for _, s := range sides {
				keepalive := "25"
				if rounds%2 == 1 {
					keepalive = "off"
				}
				for _, args := range [][]string{
					{"show", s.d.Iface, "dump"},
					{"set", s.d.Iface, "peer", s.peer.String(), "persistent-keepalive", keepalive},
					{"set", s.d.Iface, "peer", s.peer.String(), "allowed-ips", s.allow},
				} {
					start := time.Now()
					if _, err := s.d.NS.Run(append([]string{"wg"}, args...)...); err != nil {
						t.Fatalf("%s under load: %v", s.d.Impl.Name, err)
					}
					worst = max(worst, time.Since(start))
				}
			}
			rounds++
		}
		t.Logf("%d rounds of UAPI reads and writes during the transfer; slowest exchange %v", rounds, worst.Round(time.Millisecond))
		if worst > slow {
			t.Errorf("a UAPI exchange took %v under load, want < %v", worst, slow)
		}
		if rounds < 2 {
			t.Logf("the transfer finished before the UAPI load overlapped much (%d rounds)", rounds)
		}
	})
}
