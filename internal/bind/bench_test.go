package bind

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLoopback sends batches of 1280-byte datagrams over 127.0.0.1
// from one Bind to another and receives them; pkts/s counts what arrived.
func BenchmarkLoopback(b *testing.B) {
	a, _, _ := openStd(b, 0)
	r, fns, port := openStd(b, 0)
	bs := a.BatchSize()
	ep, err := a.ParseEndpoint(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String())
	if err != nil {
		b.Fatal(err)
	}
	out := make([][]byte, bs)
	for i := range out {
		out[i] = make([]byte, 1280)
	}

	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		bufs := make([][]byte, bs)
		for i := range bufs {
			bufs[i] = make([]byte, 1500)
		}
		sizes := make([]int, bs)
		eps := make([]Endpoint, bs)
		for {
			n, err := fns[0](bufs, sizes, eps)
			if err != nil {
				return
			}
			got.Add(int64(n))
		}
	}()

	b.SetBytes(int64(bs * 1280))
	b.ReportAllocs()
	start := time.Now()
	sent := int64(0)
	for b.Loop() {
		if err := a.Send(out, ep); err != nil {
			b.Fatal(err)
		}
		sent += int64(bs)
		// Stay at most a few batches ahead of the receiver so the socket
		// buffer does not overflow; give up on datagrams lost anyway.
		deadline := time.Now().Add(100 * time.Millisecond)
		for got.Load() < sent-int64(8*bs) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Microsecond)
		}
	}
	elapsed := time.Since(start)
	r.Close()
	<-done
	b.ReportMetric(float64(got.Load())/elapsed.Seconds(), "pkts/s")
	b.ReportMetric(float64(sent-got.Load())/float64(max(sent, 1))*100, "%lost")
}
