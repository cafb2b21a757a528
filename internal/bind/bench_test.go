package bind

import (
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	wgconn "golang.zx2c4.com/wireguard/conn"
)

// benchDatagram is the size of a full-MTU WireGuard transport message.
const benchDatagram = 1280

// BenchmarkLoopback sends batches of datagrams over 127.0.0.1 from one
// Bind to another and receives them; pkts/s counts what arrived.
func BenchmarkLoopback(b *testing.B) {
	a, _, _ := openStd(b, 0)
	r, fns, port := openStd(b, 0)
	ep, err := a.ParseEndpoint(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String())
	if err != nil {
		b.Fatal(err)
	}
	eps := make([]Endpoint, a.BatchSize())
	receive := func(bufs [][]byte, sizes []int) (int, error) { return fns[0](bufs, sizes, eps) }
	benchLoopback(b, a.BatchSize(), func(bufs [][]byte) error { return a.Send(bufs, ep) }, receive, func() { r.Close() })
}

// BenchmarkLoopbackReference runs the same loop over wireguard-go's
// StdNetBind, the bar to beat.
func BenchmarkLoopbackReference(b *testing.B) {
	a, r := wgconn.NewStdNetBind(), wgconn.NewStdNetBind()
	if _, _, err := a.Open(0); err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	fns, port, err := r.Open(0)
	if err != nil {
		b.Fatal(err)
	}
	ep, err := a.ParseEndpoint(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String())
	if err != nil {
		b.Fatal(err)
	}
	eps := make([]wgconn.Endpoint, a.BatchSize())
	receive := func(bufs [][]byte, sizes []int) (int, error) { return fns[0](bufs, sizes, eps) }
	benchLoopback(b, a.BatchSize(), func(bufs [][]byte) error { return a.Send(bufs, ep) }, receive, func() { r.Close() })
}

func benchLoopback(b *testing.B, bs int, send func([][]byte) error, receive func([][]byte, []int) (int, error), closeReceiver func()) {
	out := make([][]byte, bs)
	for i := range out {
		out[i] = make([]byte, benchDatagram)
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
		for {
			n, err := receive(bufs, sizes)
			if err != nil {
				return
			}
			got.Add(int64(n))
		}
	}()

	b.SetBytes(int64(bs * benchDatagram))
	b.ReportAllocs()
	start := time.Now()
	sent := int64(0)
	for b.Loop() {
		if err := send(out); err != nil {
			b.Fatal(err)
		}
		sent += int64(bs)
		// Stay at most a few batches ahead of the receiver so the socket
		// buffer does not overflow; give up on datagrams lost anyway.
		deadline := time.Now().Add(100 * time.Millisecond)
		for got.Load() < sent-int64(8*bs) && time.Now().Before(deadline) {
			runtime.Gosched()
		}
	}
	elapsed := time.Since(start)
	closeReceiver()
	<-done
	b.ReportMetric(float64(got.Load())/elapsed.Seconds(), "pkts/s")
	b.ReportMetric(float64(sent-got.Load())/float64(max(sent, 1))*100, "%lost")
}
