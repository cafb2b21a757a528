package device

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/warren-vpn/warren/internal/netsim"
)

// testInlineBatch is the Options.InlineBatch of the devices the tests make
// (newNode); TestPipelineModes varies it.
var testInlineBatch int

// pipelineModes are the ways a batch can cross the crypto stage: always
// through the workers and sequencers, small batches run to completion on
// their producer and big ones through the workers, and everything on the
// producer (the default on two cores, where the rest of the suite runs
// unless the machine has more).
var pipelineModes = []struct {
	name   string
	inline int
}{
	{"workers", -1},
	{"mixed", minJobSize},
	{"producer", math.MaxInt},
}

// TestPipelineModes runs the tests that push the most traffic through the
// pipelines in every mode: order per peer kept, nothing corrupted or
// duplicated under loss and reordering, Close under load, Close with the
// TUN device stuck.
func TestPipelineModes(t *testing.T) {
	for _, m := range pipelineModes {
		t.Run(m.name, func(t *testing.T) {
			testInlineBatch = m.inline
			defer func() { testInlineBatch = 0 }()
			t.Run("Order", testPipelineOrder)
			t.Run("LossyNetwork", TestLossyNetwork)
			t.Run("CloseUnderLoad", TestCloseUnderLoad)
			t.Run("CloseWithStuckTUN", TestCloseWithStuckTUN)
		})
	}
}

// testPipelineOrder: bursts of packets of mixed sizes, in both directions
// at once, arrive complete and in the order they were sent.
func testPipelineOrder(t *testing.T) {
	_, a, b := newPair(t, netsim.Options{QueueLen: 8192}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("handshake first")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("handshake first")))
	const total, burst = 3000, 150
	errs := make(chan error, 2)
	for _, pair := range [][2]*node{{a, b}, {b, a}} {
		from, to := pair[0], pair[1]
		go func() {
			next := 0
			for sent := 0; sent < total; sent += burst {
				for i := sent; i < sent+burst; i++ {
					// Sizes from a keepalive-sized packet to the MTU.
					if err := from.tun.Inject(numbered(from.v4, to.v4, i, 4+(i*97)%1380)); err != nil {
						errs <- err
						return
					}
				}
				for next < sent+burst {
					p, ok := recv(t, to, 5e9)
					if !ok {
						errs <- errorf("%v→%v: packet %d never arrived", from.v4, to.v4, next)
						return
					}
					if got := int(binary.BigEndian.Uint32(p[20:])); got != next {
						errs <- errorf("%v→%v: packet %d arrived when %d was due", from.v4, to.v4, got, next)
						return
					}
					next++
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
