package device

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/tun"
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
			if m.inline > 0 && m.inline < tun.MemoryBatchSize {
				// Small batches run inline and big ones through the
				// sequencer: a small one must not overtake a big one.
				t.Run("InlineBehindQueued", testInlineBehindQueued)
			}
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

// gatedBind holds back Sends of at least some number of datagrams until
// released, so that a test can keep a batch inside the send sequencer.
type gatedBind struct {
	*netsim.Bind
	mu      sync.Mutex
	min     int           // Sends of at least min datagrams wait; 0: none
	release chan struct{} // closed to let the waiting Sends go
	waiting atomic.Int64
}

func (g *gatedBind) Send(bufs [][]byte, ep bind.Endpoint) error {
	g.mu.Lock()
	held, release := g.min > 0 && len(bufs) >= g.min, g.release
	g.mu.Unlock()
	if held {
		g.waiting.Add(1)
		<-release
		g.waiting.Add(-1)
	}
	return g.Bind.Send(bufs, ep)
}

// hold makes Sends of at least min datagrams wait (0: none) and lets
// those waiting go.
func (g *gatedBind) hold(min int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release != nil {
		close(g.release)
	}
	g.min, g.release = min, make(chan struct{})
}

// testInlineBehindQueued: with a big batch held in the send sequencer
// (its bind.Send blocked), a single packet read after it must wait behind
// it, not run to completion on the TUN reader and overtake it: the
// `pending == 0` condition of dispatch. The batch boundaries are forced,
// so the outcome does not depend on timing.
func testInlineBehindQueued(t *testing.T) {
	n := netsim.New(netsim.Options{QueueLen: 8192})
	t.Cleanup(func() { n.Close() })
	var gate *gatedBind
	a := newNodeWith(t, n, 1, nil, nodeConfig{wrap: func(b *netsim.Bind) bind.Bind {
		gate = &gatedBind{Bind: b}
		return gate
	}})
	b := newNode(t, n, 2, nil)
	connect(t, a, b)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("handshake first")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("handshake first")))
	const big = tun.MemoryBatchSize
	if big <= a.d.inlineMax || 1 > a.d.inlineMax {
		t.Fatalf("inline batches up to %d: a batch of %d must go to the workers and one of 1 run inline", a.d.inlineMax, big)
	}

	// Packet 0, alone and inline, blocks the TUN reader in bind.Send
	// while packets 1..big queue up in the TUN.
	gate.hold(1)
	inject := func(i int) {
		t.Helper()
		if err := a.tun.Inject(numbered(a.v4, b.v4, i, 100)); err != nil {
			t.Fatal(err)
		}
	}
	inject(0)
	waitFor(t, "the reader to block sending packet 0", func() bool { return gate.waiting.Load() == 1 })
	for i := 1; i <= big; i++ {
		inject(i)
	}
	// Released, the reader reads packets 1..big as one batch, which goes
	// to the workers and the sequencer, whose Send of it is held.
	gate.hold(minJobSize + 1)
	waitFor(t, "the sequencer to block sending the big batch", func() bool {
		return gate.waiting.Load() == 1 && a.d.tx.pending.Load() == 1
	})
	// Packet big+1 comes alone: it must queue behind the big batch.
	inject(big + 1)
	waitFor(t, "packet big+1 to be queued or sent", func() bool {
		return a.d.tx.pending.Load() == 2 || len(b.tun.Outbound()) >= 2
	})
	gate.hold(0)
	for want := 0; want <= big+1; want++ {
		p, ok := recv(t, b, 5*time.Second)
		if !ok {
			t.Fatalf("packet %d never arrived", want)
		}
		if got := int(binary.BigEndian.Uint32(p[20:])); got != want {
			t.Fatalf("packet %d arrived when %d was due", got, want)
		}
	}
}
