package device

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/clock"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/wire"
)

// TestResponseBeforeInitiationSendReturns: the response to a's initiation
// may be processed (by a handshake worker) before the goroutine that sent
// the initiation returns from the send. The retransmission is armed before
// the send, so completing the handshake disarms it; armed after, it would
// retry a handshake that had completed, RekeyTimeout later.
func TestResponseBeforeInitiationSendReturns(t *testing.T) {
	clk := clock.NewManual(testEpoch)
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	// An initiator descheduled right after its send (seen in the soak as
	// "Handshake did not complete after 5 seconds, retrying" right after
	// "Received handshake response").
	gate := &sendGate{release: make(chan struct{}), match: func(b []byte) bool {
		return len(b) == wire.InitiationSize && b[0] == wire.TypeInitiation
	}}
	a := newNodeWith(t, n, 1, clk, nodeConfig{wrap: func(b *netsim.Bind) bind.Bind {
		gate.Bind = b
		return gate
	}})
	b := newNode(t, n, 2, clk)
	releaseOnce := sync.OnceFunc(func() { close(gate.release) })
	t.Cleanup(releaseOnce) // runs before the nodes' Close, which waits for the held sender
	connect(t, a, b)
	tp := installTap(n)

	gate.armed.Store(true)
	hello := ipv4(a.v4, b.v4, []byte("hello"))
	if err := a.tun.Inject(hello); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a's initiation to be held", func() bool { return gate.waiting.Load() == 1 })
	pb := a.peer(t, b.pub)
	waitFor(t, "a to complete the handshake", func() bool {
		_, cur, _ := pb.sessions()
		return cur != nil
	})
	gate.armed.Store(false)
	releaseOnce()
	if got, ok := recv(t, b, 5*time.Second); !ok || !bytes.Equal(got, hello) {
		t.Fatal("b did not get the packet that started the handshake")
	}
	quiesce(a, b)

	advance(clk, RekeyTimeout+RekeyTimeoutJitterMax+time.Second, a, b)
	if c := tp.count(a.addr, wire.TypeInitiation); c != 1 {
		t.Errorf("a sent %d initiations, want 1: it retried a handshake that had completed", c)
	}
}
