package device

import (
	"crypto/cipher"
	"encoding/binary"
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
	"github.com/warren-vpn/warren/internal/wire"
	"golang.org/x/crypto/chacha20poly1305"
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

// sourceBind is a Bind whose one socket receives transport messages that
// it seals itself, numbered in order, as many as were released with give.
type sourceBind struct {
	sinkBind
	tokens   chan int
	seal     cipher.AEAD
	receiver uint32
	counter  uint64
	nonce    [12]byte
	inner    []byte
	ep       bind.Endpoint
}

func (s *sourceBind) Open(port uint16) ([]bind.ReceiveFunc, uint16, error) {
	_, p, err := s.sinkBind.Open(port) // for its closed channel
	if err != nil {
		return nil, 0, err
	}
	closed := s.closed
	return []bind.ReceiveFunc{func(bufs [][]byte, sizes []int, eps []bind.Endpoint) (int, error) {
		var n int
		select {
		case n = <-s.tokens:
		case <-closed:
			return 0, bind.ErrClosed
		}
		n = min(n, len(bufs))
		for i := range n {
			b := bufs[i]
			wire.PutTransportHeader(b, s.receiver, s.counter)
			binary.LittleEndian.PutUint64(s.nonce[4:], s.counter)
			s.counter++
			copy(b[wire.TransportHeaderSize:], s.inner)
			out := s.seal.Seal(b[wire.TransportHeaderSize:wire.TransportHeaderSize], s.nonce[:], b[wire.TransportHeaderSize:wire.TransportHeaderSize+len(s.inner)], nil)
			sizes[i] = wire.TransportHeaderSize + len(out)
			eps[i] = s.ep
		}
		return n, nil
	}}, p, nil
}

// sinkTUN is a TUN device whose Write only counts.
type sinkTUN struct {
	sourceTUN
	written atomic.Int64
}

func (s *sinkTUN) Write(bufs [][]byte, offset int) (int, error) {
	s.written.Add(int64(len(bufs)))
	return len(bufs), nil
}

// BenchmarkReceivePath measures the engine alone on the way in: batch
// receive, demultiplexing, parallel opening, replay window, AllowedIPs
// source check and the TUN write, with a bind and a TUN that allocate
// nothing. The simulated peer's sealing of each message is included.
func BenchmarkReceivePath(b *testing.B) {
	priv, _ := noise.NewPrivateKey(randReader{})
	peerPub := newKeyTB(b)
	key := [32]byte{7}
	aead, err := chacha20poly1305.New(key[:])
	if err != nil {
		b.Fatal(err)
	}
	ep := netip.MustParseAddrPort("192.0.2.2:51820")
	src := &sourceBind{tokens: make(chan int, 1024), seal: aead, receiver: 1,
		inner: ipv4(netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1"), make([]byte, 1400)),
		ep:    netsim.NewEndpoint(ep)}
	sink := &sinkTUN{sourceTUN: *newSourceTUN(nil)}
	sink.tokens = nil // reads block until Close
	d, err := New(sink, src, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := d.Apply(&wgtypes.Config{PrivateKey: &priv, Peers: []wgtypes.PeerConfig{{
		PublicKey: peerPub, Endpoint: &ep, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.2/32")},
	}}}); err != nil {
		b.Fatal(err)
	}
	d.mu.RLock()
	p := d.peers[peerPub]
	d.mu.RUnlock()
	kp, err := newKeypair(p, &noise.Keypair{Send: [32]byte{8}, Receive: key, LocalIndex: 1, RemoteIndex: 2, Initiator: true}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	d.index.setKeypair(1, kp)
	p.installKeypair(kp)
	if err := d.Up(); err != nil {
		b.Fatal(err)
	}

	b.SetBytes(int64(len(src.inner)))
	b.ReportAllocs()
	b.ResetTimer()
	for left := b.N; left > 0; {
		n := min(left, 64)
		src.tokens <- n
		left -= n
	}
	for sink.written.Load() < int64(b.N) {
		time.Sleep(10 * time.Microsecond)
	}
	b.StopTimer()
}
