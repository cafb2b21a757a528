package device

import (
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/clock"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wire"
)

// TestHandshakeFlood: initiations with a valid MAC1 from thousands of
// addresses put the responder under load; it answers them with cookie
// replies, and a legitimate peer still connects by echoing its cookie.
func TestHandshakeFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test in -short mode")
	}
	clk := clock.NewManual(testEpoch)
	n := netsim.New(netsim.Options{Seed: 3, QueueLen: 4096})
	t.Cleanup(func() { n.Close() })
	a := newNode(t, n, 1, clk)
	b := newNode(t, n, 2, clk)

	var cookiesToA, cookiesOut atomic.Int64
	n.SetFilter(func(src, dst netip.AddrPort, data []byte) bool {
		if len(data) > 0 && data[0] == wire.TypeCookieReply {
			cookiesOut.Add(1)
			if dst.Addr() == a.addr {
				cookiesToA.Add(1)
			}
		}
		return true
	})

	// One crafted initiation from a stranger, with a valid MAC1 for b.
	pkt := craftInitiation(t, b.pub, clk.Now())

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapInuse

	stop, sources := startFlood(t, n, netip.AddrPortFrom(b.addr, b.port), pkt, func() uint64 { return b.bind.Stats().Overflow })
	defer stop()

	waitFor(t, "cookie replies", func() bool { return cookiesOut.Load() > 100 })
	connect(t, a, b)
	pkt4 := ipv4(a.v4, b.v4, []byte("through the flood"))
	if err := a.tun.Inject(pkt4); err != nil {
		t.Fatal(err)
	}
	connected := false
	start := time.Now()
	for round := range 20 {
		wait := 300 * time.Millisecond
		if raceEnabled {
			wait = time.Second
		}
		if _, ok := recv(t, b, wait); ok {
			connected = true
			t.Logf("connected after %d retries, %v", round, time.Since(start))
			break
		}
		// Let a retry (with its cookie) and b's under-load window move on.
		clk.Advance(RekeyTimeout + RekeyTimeoutJitterMax)
	}
	if !connected {
		t.Fatalf("legitimate peer could not connect during the flood (cookies to it: %d, out: %d)", cookiesToA.Load(), cookiesOut.Load())
	}
	if cookiesToA.Load() == 0 {
		t.Error("the legitimate peer got through without a cookie: load was not detected")
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if grown := int64(ms.HeapInuse) - int64(heapBefore); grown > 64<<20 {
		t.Errorf("heap grew by %d MiB during the flood", grown>>20)
	}
	t.Logf("%d source addresses, %d cookie replies (%d to the peer)", sources.Load(), cookiesOut.Load(), cookiesToA.Load())
}

// craftInitiation returns an initiation to pub from a stranger, with a
// valid MAC1.
func craftInitiation(t testing.TB, pub noise.PublicKey, now time.Time) []byte {
	t.Helper()
	stranger, _ := noise.NewPrivateKey(randReader{})
	sid := noise.NewIdentity(stranger)
	keys, err := noise.NewPeerKeys(sid, pub, noise.PresharedKey{})
	if err != nil {
		t.Fatal(err)
	}
	msg, _, err := noise.CreateInitiation(sid, keys, 1, now, randReader{})
	if err != nil {
		t.Fatal(err)
	}
	pkt := msg.Marshal(make([]byte, wire.InitiationSize))
	noise.NewCookieGenerator(pub).AddMACs(pkt, now)
	return pkt
}

// startFlood sends pkt to target from ever new addresses on two
// goroutines, far beyond what a responder's DH path takes but backing off
// when the target's socket overflows (overflow reports its counter): a
// flood that fills the link itself is beyond any endpoint's help.
func startFlood(t testing.TB, n *netsim.Network, target netip.AddrPort, pkt []byte, overflow func() uint64) (stop func(), sources *atomic.Int64) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	sources = new(atomic.Int64)
	ep := netsim.NewEndpoint(target)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			binds := make([]*netsim.Bind, 16)
			for i := range binds {
				binds[i] = n.NewBind(netip.AddrFrom4([4]byte{100, byte(64 + w*16 + i), 255, 255}))
				if _, _, err := binds[i].Open(0); err != nil {
					t.Error(err)
					return
				}
				defer binds[i].Close()
			}
			bufs := [][]byte{pkt}
			var last uint64
			for round := 0; ; round++ {
				for i, bd := range binds {
					select {
					case <-done:
						return
					default:
					}
					for range 8 {
						bd.Send(bufs, ep)
					}
					if o := overflow(); o != last || (raceEnabled && i%2 == 1) || i%4 == 3 {
						last = o
						time.Sleep(time.Millisecond)
					}
					addr := netip.AddrFrom4([4]byte{100, byte(64 + w*16 + i), byte(round >> 8), byte(round)})
					if bd.Move(addr) == nil {
						sources.Add(1)
					}
				}
			}
		}()
	}
	return func() { close(done); wg.Wait() }, sources
}

// cookieGate is a bind whose Sends of cookie replies block until the gate
// opens or the bind closes: a socket that cannot take them.
type cookieGate struct {
	*netsim.Bind
	open    chan struct{}
	once    sync.Once
	waiting atomic.Int64
}

func (g *cookieGate) Send(bufs [][]byte, ep bind.Endpoint) error {
	if len(bufs) > 0 && len(bufs[0]) > 0 && bufs[0][0] == wire.TypeCookieReply {
		g.waiting.Add(1)
		<-g.open
		g.waiting.Add(-1)
	}
	return g.Bind.Send(bufs, ep)
}

func (g *cookieGate) Close() error {
	g.once.Do(func() { close(g.open) })
	return g.Bind.Close()
}

// TestHandshakeWorkDoesNotBlockData: the handshake stage runs beside the
// data path, not on it. A flood puts b under load and its cookie replies
// cannot be sent (the socket blocks them), so its handshake workers are
// stuck; b's receivers still decrypt and deliver a's data, the handshake
// queue stays within its bound (the excess is dropped), and Close stops
// the stuck workers.
func TestHandshakeWorkDoesNotBlockData(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New(netsim.Options{Seed: 4, QueueLen: 4096})
	t.Cleanup(func() { n.Close() })
	gate := &cookieGate{open: make(chan struct{})}
	a := newNode(t, n, 1, nil)
	b := newNodeWith(t, n, 2, nil, nodeConfig{wrap: func(nb *netsim.Bind) bind.Bind {
		gate.Bind = nb
		return gate
	}})
	connect(t, a, b)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("before the flood")))

	stopFlood, _ := startFlood(t, n, netip.AddrPortFrom(b.addr, b.port), craftInitiation(t, b.pub, time.Now()), func() uint64 { return b.bind.Stats().Overflow })
	var once sync.Once
	stop := func() { once.Do(stopFlood) }
	defer stop()
	waitFor(t, "every handshake worker stuck on a cookie reply", func() bool {
		return gate.waiting.Load() == int64(handshakeWorkers())
	})
	for i := range 20 {
		expectPacket(t, a, b, numbered(a.v4, b.v4, i, 1000))
	}
	waitFor(t, "the handshake queue to fill", func() bool { return len(b.d.hsQ) == HandshakeQueueSize })
	for i := 20; i < 40; i++ {
		expectPacket(t, a, b, numbered(a.v4, b.v4, i, 1000))
	}
	if q := len(b.d.hsQ); q > HandshakeQueueSize {
		t.Errorf("handshake queue at %d, beyond its bound %d", q, HandshakeQueueSize)
	}
	stop()
	done := make(chan struct{})
	go func() {
		b.d.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung behind handshake workers stuck in a send")
	}
}
