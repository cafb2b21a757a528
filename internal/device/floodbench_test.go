package device

import (
	"net/netip"
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
	// floodBenchSlice is how long the flood stays on, and then off, in
	// each op: short enough that the machine's drift (and other
	// processes) weigh on both phases alike.
	floodBenchSlice = 250 * time.Millisecond
)

// BenchmarkFloodThroughput measures data throughput between two legitimate
// peers on the simulated network without and during a handshake flood
// aimed at the receiving peer: initiations from a stranger with a valid
// MAC1, from ever new addresses, at floodBenchRate (paced, so that the
// rate does not depend on how much CPU the victim leaves the flood). Data
// flows without pause; each op turns the flood on for floodBenchSlice and
// off for as long (the flooded phase lasts until the receiver has worked
// off what the flood left queued). The metrics are the data delivered per second in each
// phase, their ratio, the flood's achieved rate and the share of it
// answered with cookie replies (the rest is dropped at the full handshake
// queue, or consumed while the device is not yet under load). The
// flooder's own work (building and sending the datagrams in the same
// process) counts against the data path, as a real flood's receive cost
// in the kernel would.
//
//	go test -run='^$' -bench=FloodThroughput -benchtime=40x -count=5 ./internal/device/
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
	fl := startPacedFlood(b, n, netip.AddrPortFrom(y.addr, y.port), craftInitiation(b, y.pub, time.Now()), floodBenchRate)
	defer fl.stop()

	// Data from x to y, as fast as they go, counted at y's TUN.
	var delivered atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { pumpWindowed(x, pkt, &delivered, stop) })
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-y.tun.Outbound():
				delivered.Add(1)
			}
		}
	})
	defer func() { close(stop); x.tun.Close(); wg.Wait() }()
	time.Sleep(200 * time.Millisecond) // warm up

	var quietPkts, floodPkts, floodSent, cookieCount int64
	var quietTime, floodTime, onTime time.Duration
	b.ResetTimer()
	for range b.N {
		d0, t0 := delivered.Load(), time.Now()
		time.Sleep(floodBenchSlice)
		d1, t1 := delivered.Load(), time.Now()
		quietPkts += d1 - d0
		quietTime += t1.Sub(t0)

		s0, c0 := fl.sent.Load(), cookies.Load()
		fl.on.Store(true)
		time.Sleep(floodBenchSlice)
		fl.on.Store(false)
		onTime += time.Since(t1)
		// What the flood left queued (in y's socket, in its handshake
		// queue) is still the flood's: the phase ends once it is worked
		// off, so that the next quiet phase does not pay for it.
		settled := time.Now().Add(time.Second)
		for time.Now().Before(settled) &&
			(y.bind.Stats().Received-y.d.datagrams.Load() > floodBenchWindow || len(y.d.hsQ) > 0) {
			time.Sleep(100 * time.Microsecond)
		}
		d2, t2 := delivered.Load(), time.Now()
		floodPkts += d2 - d1
		floodTime += t2.Sub(t1)
		floodSent += fl.sent.Load() - s0
		cookieCount += cookies.Load() - c0
	}
	b.StopTimer()
	quiet := float64(quietPkts*floodBenchPkt) / quietTime.Seconds()
	flooded := float64(floodPkts*floodBenchPkt) / floodTime.Seconds()
	b.ReportMetric(quiet/1e6, "quiet-MB/s")
	b.ReportMetric(flooded/1e6, "flood-MB/s")
	b.ReportMetric(flooded/quiet, "flood/quiet")
	b.ReportMetric(float64(floodSent)/onTime.Seconds(), "flood-pps")
	b.ReportMetric(float64(cookieCount)/float64(max(floodSent, 1)), "cookies/flood")
}

// floodBenchWindow bounds the packets in flight between the two TUNs, as
// a transport's window would: enough to keep both devices busy, far less
// than the receiving socket's queue, so that the data does not overflow
// it by itself.
const floodBenchWindow = 1024

// pumpWindowed injects pkt at x's TUN until stop is closed, keeping at
// most floodBenchWindow packets beyond what delivered counts. Packets the
// flood makes the network drop would close the window for good: after 20
// ms without progress the pump counts what is missing as lost.
func pumpWindowed(x *node, pkt []byte, delivered *atomic.Int64, stop <-chan struct{}) {
	var injected int64
	for {
		select {
		case <-stop:
			return
		default:
		}
		if injected-delivered.Load() >= floodBenchWindow {
			waited := time.Now()
			for injected-delivered.Load() >= floodBenchWindow/2 {
				if time.Since(waited) > 20*time.Millisecond {
					injected = delivered.Load()
					break
				}
				time.Sleep(50 * time.Microsecond)
			}
		}
		if x.tun.Inject(pkt) != nil {
			return
		}
		injected++
	}
}

// pacedFlood is a running startPacedFlood; it sends while on is set.
type pacedFlood struct {
	on   atomic.Bool
	sent atomic.Int64
	done chan struct{}
	wg   sync.WaitGroup
}

func (f *pacedFlood) stop() {
	select {
	case <-f.done:
	default:
		close(f.done)
	}
	f.wg.Wait()
}

// startPacedFlood sends pkt to target at rate datagrams a second while the
// returned flood is on, from two goroutines, each moving its sockets to new
// addresses as startFlood does. Each goroutine wakes every millisecond and
// sends what its share of the rate says is due by then, so a late wake-up
// is made up for.
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
			var start time.Time
			var sent int64
			for round, i := 0, 0; ; {
				select {
				case <-f.done:
					return
				case <-tick.C:
				}
				if !f.on.Load() {
					start = time.Time{}
					continue
				}
				if start.IsZero() {
					start, sent = time.Now(), 0
				}
				due := int64(time.Since(start).Seconds() * float64(rate) / workers)
				for ; sent < due; sent++ {
					binds[i].Send(bufs, ep)
					f.sent.Add(1)
					if sent%8 == 7 { // a new address every 8 datagrams
						binds[i].Move(netip.AddrFrom4([4]byte{100, byte(64 + w*16 + i), byte(round >> 8), byte(round)}))
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
