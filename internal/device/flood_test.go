package device

import (
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	stranger, _ := noise.NewPrivateKey(randReader{})
	sid := noise.NewIdentity(stranger)
	keys, err := noise.NewPeerKeys(sid, b.pub, noise.PresharedKey{})
	if err != nil {
		t.Fatal(err)
	}
	msg, _, err := noise.CreateInitiation(sid, keys, 1, clk.Now(), randReader{})
	if err != nil {
		t.Fatal(err)
	}
	pkt := msg.Marshal(make([]byte, wire.InitiationSize))
	noise.NewCookieGenerator(b.pub).AddMACs(pkt, clk.Now())

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapInuse

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sources atomic.Int64
	target, _ := b.bind.ParseEndpoint(netip.AddrPortFrom(b.addr, b.port).String())
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			binds := make([]*netsim.Bind, 16)
			for i := range binds {
				binds[i] = n.NewBind(netip.AddrFrom4([4]byte{100, byte(64 + w), 0, byte(i + 1)}))
				if _, _, err := binds[i].Open(0); err != nil {
					t.Error(err)
					return
				}
				defer binds[i].Close()
			}
			bufs := [][]byte{pkt}
			var overflow uint64
			for round := 0; ; round++ {
				for i, bd := range binds {
					select {
					case <-stop:
						return
					default:
					}
					for range 8 {
						bd.Send(bufs, target)
					}
					// Flood far beyond what the DH path takes, but back
					// off when b's socket overflows: a flood that fills
					// the link itself is beyond any endpoint's help.
					if o := b.bind.Stats().Overflow; o != overflow || raceEnabled || i%4 == 3 {
						overflow = o
						time.Sleep(time.Millisecond)
					}
					// Move to a fresh address: thousands of sources.
					addr := netip.AddrFrom4([4]byte{100, byte(64 + w*16 + i), byte(round >> 8), byte(round)})
					if bd.Move(addr) == nil {
						sources.Add(1)
					}
				}
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()

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
