package proxy

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/wire"
)

// TestInitiationLog: counts per endpoint after a time, forgetting what a
// later handshake makes irrelevant; a lower bound once more than it keeps
// were sent; the latest send's error; a bounded number of endpoints.
func TestInitiationLog(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newInitiationLog(func() time.Time { return now })
	a := netip.MustParseAddrPort("192.0.2.1:51820")
	b := netip.MustParseAddrPort("192.0.2.2:51820")
	for range 3 {
		l.record(a, 1, nil)
		now = now.Add(5 * time.Second)
	}
	l.record(b, 2, errors.New("network is unreachable"))
	if n, atLeast, err := l.since(a, time.Time{}); n != 3 || atLeast || err != nil {
		t.Errorf("a since ever: %d, %v, %v; want 3", n, atLeast, err)
	}
	if n, _, err := l.since(b, time.Time{}); n != 2 || err == nil {
		t.Errorf("b: %d, %v; want 2 and the send error", n, err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// A handshake at +5s: the initiations at +5s and +10s... only +10s is after it.
	if n, _, _ := l.since(a, start.Add(5*time.Second)); n != 1 {
		t.Errorf("a since +5s: %d, want 1", n)
	}
	if n, _, _ := l.since(a, time.Time{}); n != 1 {
		t.Errorf("a after pruning: %d, want 1 (older ones are forgotten)", n)
	}
	if n, _, _ := l.since(netip.MustParseAddrPort("192.0.2.9:1"), time.Time{}); n != 0 {
		t.Errorf("unknown endpoint: %d", n)
	}

	// Past maxInitiations the count is a lower bound, until a handshake
	// makes the forgotten ones irrelevant.
	c := netip.MustParseAddrPort("192.0.2.3:51820")
	first := now
	for range maxInitiations + 5 {
		l.record(c, 1, nil)
		now = now.Add(time.Second)
	}
	if n, atLeast, _ := l.since(c, time.Time{}); n != maxInitiations || !atLeast {
		t.Errorf("overflow: %d, %v; want %d, at least", n, atLeast, maxInitiations)
	}
	if n, atLeast, _ := l.since(c, first.Add(10*time.Second)); n != maxInitiations+5-11 || atLeast {
		t.Errorf("after a handshake: %d, %v; want %d, exact", n, atLeast, maxInitiations+5-11)
	}

	// Endpoints are bounded: the least recently sent to goes.
	for i := range maxEndpoints + 10 {
		l.record(netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), uint16(i+1)), 1, nil)
		now = now.Add(time.Millisecond)
	}
	l.mu.Lock()
	size := len(l.eps)
	_, kept := l.eps[netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), maxEndpoints+10)]
	l.mu.Unlock()
	if size > maxEndpoints || !kept {
		t.Errorf("%d endpoints kept (newest kept: %v), want at most %d", size, kept, maxEndpoints)
	}
}

// sinkBind is a Bind that only sends, returning err.
type sinkBind struct {
	bind.Bind
	sent int
	err  error
}

func (s *sinkBind) Send(bufs [][]byte, _ bind.Endpoint) error { s.sent += len(bufs); return s.err }

type testEndpoint struct{ ap netip.AddrPort }

func (e testEndpoint) DstAddrPort() netip.AddrPort { return e.ap }
func (e testEndpoint) SrcAddr() netip.Addr         { return netip.Addr{} }
func (e testEndpoint) ClearSrc()                   {}
func (e testEndpoint) String() string              { return e.ap.String() }

// TestCountingBind: only handshake initiations are counted, every
// datagram is sent, and a failed send is remembered.
func TestCountingBind(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newInitiationLog(func() time.Time { return now })
	sink := &sinkBind{}
	b := countingBind{Bind: sink, log: l}
	ep := testEndpoint{netip.MustParseAddrPort("192.0.2.1:51820")}
	init := make([]byte, wire.InitiationSize)
	init[0] = wire.TypeInitiation
	notInit := func(mod func(b []byte) []byte) []byte { c := append([]byte(nil), init...); return mod(c) }
	bufs := [][]byte{
		init,
		notInit(func(b []byte) []byte { b[0] = wire.TypeResponse; return b }),  // a response
		notInit(func(b []byte) []byte { b[0] = wire.TypeTransport; return b }), // data of the same size
		notInit(func(b []byte) []byte { b[1] = 1; return b }),                  // reserved bytes set
		notInit(func(b []byte) []byte { return b[:wire.InitiationSize-1] }),    // short
		notInit(func(b []byte) []byte { return append(b, 0) }),                 // long
		notInit(func(b []byte) []byte { return b }),                            // another initiation
	}
	if err := b.Send(bufs, ep); err != nil || sink.sent != len(bufs) {
		t.Fatalf("Send: %v, %d of %d sent", err, sink.sent, len(bufs))
	}
	if n, _, err := l.since(ep.ap, time.Time{}); n != 2 || err != nil {
		t.Errorf("counted %d initiations (%v), want 2", n, err)
	}
	sink.err = errors.New("sendmsg: network is unreachable")
	if err := b.Send([][]byte{init}, ep); err != sink.err {
		t.Errorf("Send = %v, want the Bind's error", err)
	}
	if n, _, err := l.since(ep.ap, time.Time{}); n != 3 || err != sink.err {
		t.Errorf("after a failed send: %d, %v; want 3 and its error", n, err)
	}
	if err := b.Send([][]byte{bufs[2]}, ep); err != sink.err {
		t.Errorf("Send = %v", err)
	}
	if _, _, err := l.since(ep.ap, time.Time{}); err != sink.err {
		t.Errorf("a data packet changed the initiations' send error to %v", err)
	}
}
