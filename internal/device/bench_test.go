package device

import (
	"fmt"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/noise"
)

// benchKeypairs returns the two ends of one session.
func benchKeypairs(b *testing.B) (send, recv *keypair) {
	var k1, k2 [32]byte
	for i := range k1 {
		k1[i], k2[i] = byte(i), byte(100+i)
	}
	s, err := newKeypair(nil, &noise.Keypair{Send: k1, Receive: k2, RemoteIndex: 7, Initiator: true}, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	r, err := newKeypair(nil, &noise.Keypair{Send: k2, Receive: k1, LocalIndex: 7}, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	return s, r
}

// BenchmarkSealOpen1420 runs one 1420-byte packet through the per-packet
// crypto path both ways: counter, in-place seal with padding, in-place open,
// replay check. Its Gbit/s is what one core's cipher alone allows, the
// bound scripts/bench.sh's CPU-per-Gbit/s rows are set against.
func BenchmarkSealOpen1420(b *testing.B) { benchSealOpen(b, 1420) }

// BenchmarkSealOpen9000 is BenchmarkSealOpen1420 at the jumbo MTU.
func BenchmarkSealOpen9000(b *testing.B) { benchSealOpen(b, 9000) }

func benchSealOpen(b *testing.B, size int) {
	send, recv := benchKeypairs(b)
	pools := newPools(size)
	e := pools.getElem(Headroom + size + 64)
	for i := range size {
		e.buf[Headroom+i] = byte(i)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		e.pkt = e.buf[Headroom : Headroom+size]
		e.counter = send.sendNonce.Add(1) - 1
		send.mu.RLock()
		send.seal(e, size)
		send.mu.RUnlock()
		recv.mu.RLock()
		recv.open(e)
		recv.mu.RUnlock()
		if !e.ok || len(e.pkt) != size {
			b.Fatal("open failed")
		}
		recv.replayMu.Lock()
		ok := recv.replay.Accept(e.counter, RejectAfterMessages)
		recv.replayMu.Unlock()
		if !ok {
			b.Fatal("replay")
		}
	}
}

// pumpPackets injects n copies of pkt at one TUN and counts what the other
// TUN delivers, until all came or nothing came for a second.
func pumpPackets(inject func([]byte) error, out <-chan []byte, pkt []byte, n int) int {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			if inject(pkt) != nil {
				return
			}
		}
	}()
	got := 0
	idle := time.NewTimer(time.Second)
	defer idle.Stop()
loop:
	for got < n {
		select {
		case <-out:
			got++
		case <-idle.C:
			break loop
		}
		if got%1024 == 0 {
			idle.Reset(time.Second)
		}
	}
	<-done
	return got
}

func BenchmarkDeviceThroughput(b *testing.B) {
	for _, size := range []int{1420, 64} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			_, x, y := newPair(b, netsim.Options{QueueLen: 1 << 14}, nil)
			pkt := ipv4(x.v4, y.v4, make([]byte, size-20))
			expectPacket(b, x, y, pkt)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			got := pumpPackets(x.tun.Inject, y.tun.Outbound(), pkt, b.N)
			b.StopTimer()
			b.ReportMetric(100*float64(b.N-got)/float64(b.N), "%lost")
		})
	}
}

// BenchmarkReferenceThroughput is BenchmarkDeviceThroughput for two
// reference devices on the same simulated network and memory TUNs.
func BenchmarkReferenceThroughput(b *testing.B) {
	for _, size := range []int{1420, 64} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			n := netsim.New(netsim.Options{QueueLen: 1 << 14})
			b.Cleanup(func() { n.Close() })
			x, y := refNodeSpec(b, 1), refNodeSpec(b, 2)
			startRef(b, n, x, y)
			startRef(b, n, y, x)
			pkt := ipv4(x.v4, y.v4, make([]byte, size-20))
			expectPacket(b, x, y, pkt)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			got := pumpPackets(x.tun.Inject, y.tun.Outbound(), pkt, b.N)
			b.StopTimer()
			b.ReportMetric(100*float64(b.N-got)/float64(b.N), "%lost")
		})
	}
}

// BenchmarkDeviceRoundTrip sends one packet at a time and waits for it to
// come back through both devices (echoed by the test at the far TUN): the
// per-packet cost of the pipelines when batches are small.
func BenchmarkDeviceRoundTrip(b *testing.B) {
	_, x, y := newPair(b, netsim.Options{}, nil)
	ping := ipv4(x.v4, y.v4, make([]byte, 100))
	pong := ipv4(y.v4, x.v4, make([]byte, 100))
	expectPacket(b, x, y, ping)
	expectPacket(b, y, x, pong)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := x.tun.Inject(ping); err != nil {
			b.Fatal(err)
		}
		<-y.tun.Outbound()
		if err := y.tun.Inject(pong); err != nil {
			b.Fatal(err)
		}
		<-x.tun.Outbound()
	}
}

// BenchmarkReferenceRoundTrip is BenchmarkDeviceRoundTrip for two
// reference devices.
func BenchmarkReferenceRoundTrip(b *testing.B) {
	n := netsim.New(netsim.Options{})
	b.Cleanup(func() { n.Close() })
	x, y := refNodeSpec(b, 1), refNodeSpec(b, 2)
	startRef(b, n, x, y)
	startRef(b, n, y, x)
	ping := ipv4(x.v4, y.v4, make([]byte, 100))
	pong := ipv4(y.v4, x.v4, make([]byte, 100))
	expectPacket(b, x, y, ping)
	expectPacket(b, y, x, pong)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := x.tun.Inject(ping); err != nil {
			b.Fatal(err)
		}
		<-y.tun.Outbound()
		if err := y.tun.Inject(pong); err != nil {
			b.Fatal(err)
		}
		<-x.tun.Outbound()
	}
}
