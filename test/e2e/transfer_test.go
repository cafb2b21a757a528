//go:build linux

package e2e

import (
	"net"
	"testing"
)

// transferBytes is how much each direction of TestTransfer carries.
const transferBytes = 64 << 20

// TestTransfer: 64 MiB over TCP through the tunnel in each direction
// (initiator to responder over inner IPv4, back over inner IPv6), and the
// receiver's SHA-256 must match what was sent.
func TestTransfer(t *testing.T) {
	forEachPair(t, func(t *testing.T, a, b *Impl) {
		p := newPairNet(t, a, b, pairOpts{})
		p.NSA.Ping(innerB4)
		d := Transfer(t, p.NSA, p.NSB, net.JoinHostPort(innerB4, "5201"), transferBytes, 1)
		t.Logf("%s -> %s: %d MiB in %v (%.0f Mbit/s)", a.Name, b.Name, transferBytes>>20, d.Round(1e6), float64(transferBytes)*8/d.Seconds()/1e6)
		d = Transfer(t, p.NSB, p.NSA, net.JoinHostPort(innerA6, "5201"), transferBytes, 2)
		t.Logf("%s -> %s: %d MiB in %v (%.0f Mbit/s)", b.Name, a.Name, transferBytes>>20, d.Round(1e6), float64(transferBytes)*8/d.Seconds()/1e6)

		// Both sides count what they carried: well over 64 MiB each way.
		for _, side := range []struct {
			d    *Daemon
			peer Key
		}{{p.A, p.B.Public}, {p.B, p.A.Public}} {
			pp := side.d.Peer(side.peer)
			if pp.RxBytes < transferBytes || pp.TxBytes < transferBytes {
				t.Errorf("%s: transfer counters rx=%d tx=%d, want both >= %d", side.d.Impl.Name, pp.RxBytes, pp.TxBytes, transferBytes)
			}
		}
	})
}
