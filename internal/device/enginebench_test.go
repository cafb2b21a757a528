package device

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/tun"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

var errSourceClosed = errors.New("source closed")

// sourceTUN is a TUN device that reads copies of one packet as fast as the
// engine asks, as many as were released with give, without allocating.
type sourceTUN struct {
	pkt    []byte
	tokens chan int
	events chan tun.Event
	done   chan struct{}
	once   sync.Once
}

func newSourceTUN(pkt []byte) *sourceTUN {
	return &sourceTUN{pkt: pkt, tokens: make(chan int, 1024), events: make(chan tun.Event), done: make(chan struct{})}
}

func (s *sourceTUN) give(n int) { s.tokens <- n }

func (s *sourceTUN) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	var n int
	select {
	case n = <-s.tokens:
	case <-s.done:
		return 0, errSourceClosed
	}
	n = min(n, len(bufs))
	for i := range n {
		sizes[i] = copy(bufs[i][offset:], s.pkt)
	}
	return n, nil
}
func (s *sourceTUN) Write(bufs [][]byte, offset int) (int, error) { return len(bufs), nil }
func (s *sourceTUN) MTU() (int, error)                            { return 1420, nil }
func (s *sourceTUN) Name() (string, error)                        { return "source", nil }
func (s *sourceTUN) Events() <-chan tun.Event                     { return s.events }
func (s *sourceTUN) BatchSize() int                               { return 64 }
func (s *sourceTUN) Close() error {
	s.once.Do(func() { close(s.done); close(s.events) })
	return nil
}

// sinkBind is a Bind whose Send only counts.
type sinkBind struct {
	sent   atomic.Int64
	closed chan struct{}
	mu     sync.Mutex
}

func (b *sinkBind) Open(port uint16) ([]bind.ReceiveFunc, uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = make(chan struct{})
	closed := b.closed
	return []bind.ReceiveFunc{func([][]byte, []int, []bind.Endpoint) (int, error) {
		<-closed
		return 0, bind.ErrClosed
	}}, max(port, 1), nil
}
func (b *sinkBind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed != nil {
		close(b.closed)
		b.closed = nil
	}
	return nil
}
func (b *sinkBind) SetMark(uint32) error { return nil }
func (b *sinkBind) Send(bufs [][]byte, ep bind.Endpoint) error {
	b.sent.Add(int64(len(bufs)))
	return nil
}
func (b *sinkBind) ParseEndpoint(s string) (bind.Endpoint, error) { return netsim.ParseEndpoint(s) }
func (b *sinkBind) BatchSize() int                                { return 64 }

// BenchmarkSendPath measures the engine alone on the way out: TUN batch
// read, routing, staging, counters, parallel sealing, sequencing and
// bind.Send, with a TUN and a bind that cost (and allocate) nothing.
func BenchmarkSendPath(b *testing.B) {
	priv, _ := noise.NewPrivateKey(randReader{})
	peerPub := newKeyTB(b)
	src := newSourceTUN(ipv4(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), make([]byte, 1400)))
	sink := &sinkBind{}
	d, err := New(src, sink, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	ep := netip.MustParseAddrPort("192.0.2.2:51820")
	if err := d.Apply(&wgtypes.Config{PrivateKey: &priv, Peers: []wgtypes.PeerConfig{{
		PublicKey: peerPub, Endpoint: &ep, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.2/32")},
	}}}); err != nil {
		b.Fatal(err)
	}
	if err := d.Up(); err != nil {
		b.Fatal(err)
	}
	// A session as if a handshake had just completed.
	d.mu.RLock()
	p := d.peers[peerPub]
	d.mu.RUnlock()
	kp, err := newKeypair(p, &noise.Keypair{Send: [32]byte{1}, Receive: [32]byte{2}, LocalIndex: 1, RemoteIndex: 2, Initiator: true}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	p.installKeypair(kp)

	b.SetBytes(int64(len(src.pkt)))
	b.ReportAllocs()
	b.ResetTimer()
	for left := b.N; left > 0; {
		n := min(left, 64)
		src.give(n)
		left -= n
	}
	for sink.sent.Load() < int64(b.N) {
		time.Sleep(10 * time.Microsecond)
	}
	b.StopTimer()
}

func newKeyTB(tb testing.TB) noise.PublicKey {
	k, err := noise.NewPrivateKey(randReader{})
	if err != nil {
		tb.Fatal(err)
	}
	return k.PublicKey()
}
