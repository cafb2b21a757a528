package device

import (
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/wire"
)

const (
	// floodBenchPkt is the size of the inner packets
	// BenchmarkFloodThroughput moves.
	floodBenchPkt = 1420
	// floodBenchRate is the rate of TestHandshakeFlood's flood
	// (startFlood): 31,000 to 33,000 initiations a second on this
	// project's 2-core machine, measured with nothing else in the way.
	floodBenchRate = 32000
	// floodBenchRounds alternate quiet and flooded phases in one run, so
	// that the machine's drift hits both alike.
	floodBenchRounds = 3
)

// BenchmarkFloodThroughput measures data throughput between two legitimate
// peers on the simulated network, alternately without and during a
// handshake flood aimed at the receiving peer: initiations from a stranger
// with a valid MAC1, from ever new addresses, at floodBenchRate (paced, so
// that the rate does not depend on how much CPU the victim leaves the
// flood). Each op is one packet of each phase. The metrics are the goodput
// of each phase (bytes delivered over the time to the last delivery,
// medians over the rounds), the median of the rounds' flooded/quiet
// ratios, the flood's achieved rate and the share of it answered with
// cookie replies.
//
//	go test -run='^$' -bench=FloodThroughput -benchtime=50000x -count=5 ./internal/device/
func BenchmarkFloodThroughput(b *testing.B) {
	n, x, y := newPair(b, netsim.Options{QueueLen: 1 << 14}, nil)
	pkt := ipv4(x.v4, y.v4, make([]byte, floodBenchPkt-20))
	expectPacket(b, x, y, pkt)
	var cookies atomic.Int64
	n.SetFilter(func(src, dst netip.AddrPort, data []byte) bool {
		if len(data) > 0 && data[0] == wire.TypeCookieReply {
			cookies.Add(1)
		}
		return true
	})
	flood := craftInitiation(b, y.pub, time.Now())
	target := netip.AddrPortFrom(y.addr, y.port)

	var quiet, flooded, ratios []float64
	var floodTime time.Duration
	var floodSent, cookieCount int64
	b.ResetTimer()
	for range floodBenchRounds {
		q := goodput(x, y, pkt, b.N)
		cookies0 := cookies.Load()
		fl := startPacedFlood(b, n, target, flood, floodBenchRate)
		time.Sleep(100 * time.Millisecond) // the flood's first effects
		start, sent0 := time.Now(), fl.sent.Load()
		f := goodput(x, y, pkt, b.N)
		floodTime += time.Since(start)
		floodSent += fl.sent.Load() - sent0
		fl.stop()
		cookieCount += cookies.Load() - cookies0
		quiet, flooded = append(quiet, q), append(flooded, f)
		ratios = append(ratios, f/q)
		time.Sleep(underLoadAfter + 100*time.Millisecond) // a quiet start for the next round
	}
	b.StopTimer()
	b.ReportMetric(median(quiet)/1e6, "quiet-MB/s")
	b.ReportMetric(median(flooded)/1e6, "flood-MB/s")
	b.ReportMetric(median(ratios), "flood/quiet")
	b.ReportMetric(float64(floodSent)/floodTime.Seconds(), "flood-pps")
	b.ReportMetric(float64(cookieCount)/float64(max(floodSent, 1)), "cookies/flood")
}

// pacedFlood is a running startPacedFlood.
type pacedFlood struct {
	sent atomic.Int64
	done chan struct{}
	wg   sync.WaitGroup
}

func (f *pacedFlood) stop() { close(f.done); f.wg.Wait() }

// startPacedFlood sends pkt to target at rate datagrams a second, from two
// goroutines, each moving its sockets to new addresses as startFlood does.
// Each goroutine wakes every millisecond and sends what its share of the
// rate says is due by then, so a late wake-up is made up for.
func startPacedFlood(tb testing.TB, n *netsim.Network, target netip.AddrPort, pkt []byte, rate int) *pacedFlood {
	f := &pacedFlood{done: make(chan struct{})}
	ep := netsim.NewEndpoint(target)
	const workers = 2
	for w := range workers {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			binds := make([]*netsim.Bind, 16)
			for i := range binds {
				binds[i] = n.NewBind(netip.AddrFrom4([4]byte{100, byte(64 + w*16 + i), 255, 255}))
				if _, _, err := binds[i].Open(0); err != nil {
					tb.Error(err)
					return
				}
				defer binds[i].Close()
			}
			bufs := [][]byte{pkt}
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			start := time.Now()
			var sent int64
			for round, i := 0, 0; ; {
				select {
				case <-f.done:
					return
				case <-tick.C:
				}
				due := int64(time.Since(start).Seconds() * float64(rate) / workers)
				for ; sent < due; sent++ {
					binds[i].Send(bufs, ep)
					f.sent.Add(1)
					if sent%8 == 7 { // a new address every 8 datagrams
						addr := netip.AddrFrom4([4]byte{100, byte(64 + w*16 + i), byte(round >> 8), byte(round)})
						binds[i].Move(addr)
						if i++; i == len(binds) {
							i, round = 0, round+1
						}
					}
				}
			}
		}()
	}
	return f
}

// goodput pushes n packets from x to y as fast as x's TUN takes them and
// returns the bytes per second y delivered, timed to the last delivery
// (lost packets are not waited for: 200 ms of silence ends the count).
func goodput(x, y *node, pkt []byte, n int) float64 {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		for range n {
			if x.tun.Inject(pkt) != nil {
				return
			}
		}
	}()
	got := 0
	last := start
	idle := time.NewTimer(200 * time.Millisecond)
	defer idle.Stop()
loop:
	for got < n {
		select {
		case <-y.tun.Outbound():
			got++
			if got%256 == 0 {
				last = time.Now()
				idle.Reset(200 * time.Millisecond)
			}
		case <-idle.C:
			break loop
		}
	}
	if got == n {
		last = time.Now()
	}
	<-done
	return float64(got*len(pkt)) / last.Sub(start).Seconds()
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
