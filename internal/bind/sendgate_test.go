package bind

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
)

// fakeSend records what passed the gate.
type fakeSend struct {
	mu   sync.Mutex
	sent []netip.AddrPort
	err  error
}

func (f *fakeSend) send(bufs [][]byte, ep Endpoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range bufs {
		f.sent = append(f.sent, ep.DstAddrPort())
	}
	return f.err
}

func (f *fakeSend) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

func mustEndpoint(t *testing.T, s string) Endpoint {
	t.Helper()
	ep, err := parseEndpoint(s)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// reports collects what the gate reports.
type reports struct {
	mu   sync.Mutex
	errs []error
}

func (r *reports) add(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *reports) get() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func TestSendGate(t *testing.T) {
	var g sendGate
	var rep reports
	g.setReport(rep.add)
	fake := &fakeSend{}
	v4, v6 := mustEndpoint(t, "192.0.2.1:51820"), mustEndpoint(t, "[2001:db8::1]:51820")
	two := [][]byte{[]byte("a"), []byte("b")}

	// Open: everything passes, and the send function's error comes back.
	if err := g.send(two, v4, fake.send); err != nil || fake.count() != 2 {
		t.Fatalf("open gate: err %v, %d sent; want nil, 2", err, fake.count())
	}
	fake.err = errors.New("wsasendto failed")
	if err := g.send(two[:1], v6, fake.send); err != fake.err {
		t.Fatalf("open gate returned %v, want the send function's error", err)
	}
	fake.err = nil

	// Shut IPv4: its sends are dropped with success, counted, reported once;
	// IPv6 still passes.
	g.shut(IPv4)
	for range 3 {
		if err := g.send(two, v4, fake.send); err != nil {
			t.Fatalf("send into the blackhole = %v, want nil (a lossy link)", err)
		}
	}
	if err := g.send(two, mustEndpoint(t, "[::ffff:192.0.2.1]:51820"), fake.send); err != nil {
		t.Fatal(err)
	}
	if n := fake.count(); n != 3 {
		t.Fatalf("%d datagrams reached the socket, want the 3 sent before the gate shut", n)
	}
	if err := g.send(two[:1], v6, fake.send); err != nil || fake.count() != 4 {
		t.Fatalf("IPv6 with only IPv4 shut: err %v, %d sent; want nil, 4", err, fake.count())
	}
	if v4n, v6n := g.dropped(IPv4), g.dropped(IPv6); v4n != 8 || v6n != 0 {
		t.Errorf("dropped %d IPv4 and %d IPv6, want 8 and 0", v4n, v6n)
	}
	errs := rep.get()
	if len(errs) != 1 || !errors.Is(errs[0], ErrNoDefaultRoute) {
		t.Fatalf("reports %v, want one wrapping ErrNoDefaultRoute", errs)
	}

	// Shutting again while shut does not report again.
	g.shut(IPv4)
	g.send(two, v4, fake.send)
	if n := len(rep.get()); n != 1 {
		t.Errorf("%d reports after shutting a shut gate, want still 1", n)
	}

	// Open again: sends pass; a later closure is reported again.
	g.open(IPv4)
	if err := g.send(two, v4, fake.send); err != nil || fake.count() != 6 {
		t.Fatalf("reopened gate: err %v, %d sent; want nil, 6", err, fake.count())
	}
	g.shut(IPv4)
	g.send(two, v4, fake.send)
	if n := len(rep.get()); n != 2 {
		t.Errorf("%d reports after a second closure, want 2", n)
	}

	// Without a report function the gate still drops.
	g.setReport(nil)
	g.shut(IPv6)
	if err := g.send(two, v6, fake.send); err != nil || fake.count() != 6 || g.dropped(IPv6) != 2 {
		t.Errorf("IPv6 shut without a reporter: err %v, %d sent, %d dropped", err, fake.count(), g.dropped(IPv6))
	}
}

// TestSendGateConcurrent shuts and opens the gate while sends run (for
// the race detector), and checks that every datagram was either sent or
// counted as dropped.
func TestSendGateConcurrent(t *testing.T) {
	var g sendGate
	g.setReport(func(error) {})
	fake := &fakeSend{}
	ep := mustEndpoint(t, "192.0.2.1:51820")
	var wg sync.WaitGroup
	const senders, each = 4, 500
	for range senders {
		wg.Go(func() {
			for range each {
				g.send([][]byte{nil}, ep, fake.send)
			}
		})
	}
	wg.Go(func() {
		for i := range 1000 {
			if i%2 == 0 {
				g.shut(IPv4)
			} else {
				g.open(IPv4)
			}
		}
	})
	wg.Wait()
	if got := uint64(fake.count()) + g.dropped(IPv4); got != senders*each {
		t.Errorf("sent %d + dropped %d = %d, want %d", fake.count(), g.dropped(IPv4), got, senders*each)
	}
}
