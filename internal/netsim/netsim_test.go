package netsim

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/clock"
	"github.com/warren-vpn/warren/internal/testenv"
)

var (
	addrA = netip.MustParseAddr("10.0.0.1")
	addrB = netip.MustParseAddr("10.0.0.2")
	addrC = netip.MustParseAddr("fd00::3")
)

// open opens b at port and returns its receive function.
func open(t *testing.T, b *Bind, port uint16) (bind.ReceiveFunc, uint16) {
	t.Helper()
	fns, p, err := b.Open(port)
	if err != nil {
		t.Fatalf("Open(%d): %v", port, err)
	}
	if len(fns) != 1 {
		t.Fatalf("Open returned %d receive functions, want 1", len(fns))
	}
	t.Cleanup(func() { b.Close() })
	return fns[0], p
}

// openPair opens a at addrA and b at addrB on n, at ports n chooses, and
// returns them, b's receive function and b's endpoint (where a sends).
func openPair(t *testing.T, n *Network) (a, b *Bind, fb bind.ReceiveFunc, toB *Endpoint) {
	t.Helper()
	a, b = n.NewBind(addrA), n.NewBind(addrB)
	open(t, a, 0)
	fb, pb := open(t, b, 0)
	return a, b, fb, NewEndpoint(netip.AddrPortFrom(addrB, pb))
}

// recvAll receives until want datagrams arrived or timeout passes.
func recvAll(t *testing.T, fn bind.ReceiveFunc, batch int, want int, timeout time.Duration) ([][]byte, []bind.Endpoint) {
	t.Helper()
	var got [][]byte
	var eps []bind.Endpoint
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	sizes := make([]int, batch)
	epsBuf := make([]bind.Endpoint, batch)
	type result struct {
		n   int
		err error
	}
	deadline := time.After(timeout)
	for len(got) < want {
		ch := make(chan result, 1)
		go func() {
			n, err := fn(bufs, sizes, epsBuf)
			ch <- result{n, err}
		}()
		select {
		case r := <-ch:
			if r.err != nil {
				t.Fatalf("receive: %v", r.err)
			}
			for i := range r.n {
				got = append(got, append([]byte(nil), bufs[i][:sizes[i]]...))
				eps = append(eps, epsBuf[i])
			}
		case <-deadline:
			t.Fatalf("received %d datagrams, want %d", len(got), want)
		}
	}
	return got, eps
}

func TestDelivery(t *testing.T) {
	testenv.CheckGoroutines(t)
	n := New(Options{})
	defer n.Close()
	a, b := n.NewBind(addrA), n.NewBind(addrB)
	_, pa := open(t, a, 0)
	fb, pb := open(t, b, 51820)
	if pb != 51820 {
		t.Fatalf("Open(51820) bound %d", pb)
	}
	if pa == 0 {
		t.Fatal("Open(0) returned port 0")
	}
	ep, err := a.ParseEndpoint("10.0.0.2:51820")
	if err != nil {
		t.Fatal(err)
	}
	msgs := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
	if err := a.Send(msgs, ep); err != nil {
		t.Fatal(err)
	}
	msgs[0][0] = 'X' // Send must have copied
	got, eps := recvAll(t, fb, b.BatchSize(), 3, time.Second)
	for i, want := range []string{"one", "two", "three"} {
		if string(got[i]) != want {
			t.Errorf("datagram %d = %q, want %q", i, got[i], want)
		}
		if from := eps[i].DstAddrPort(); from != netip.AddrPortFrom(addrA, pa) {
			t.Errorf("datagram %d from %v, want %v", i, from, netip.AddrPortFrom(addrA, pa))
		}
		if eps[i].SrcAddr() != addrB {
			t.Errorf("endpoint src %v, want %v", eps[i].SrcAddr(), addrB)
		}
	}
	// Reply to the endpoint we received from.
	fa := a.sock.receive
	if err := b.Send([][]byte{[]byte("pong")}, eps[0]); err != nil {
		t.Fatal(err)
	}
	got, _ = recvAll(t, fa, 1, 1, time.Second)
	if string(got[0]) != "pong" {
		t.Errorf("reply %q", got[0])
	}
	// Nobody at the destination: dropped silently, counted.
	if err := a.Send([][]byte{{1}}, NewEndpoint(netip.MustParseAddrPort("10.9.9.9:1"))); err != nil {
		t.Fatalf("Send to nobody: %v", err)
	}
	if s := a.Stats(); s.Sent != 4 || s.NoRoute != 1 {
		t.Errorf("a stats %+v", s)
	}
	if s := b.Stats(); s.Received != 3 || s.Sent != 1 {
		t.Errorf("b stats %+v", s)
	}
}

func TestIPv6AndMapped(t *testing.T) {
	n := New(Options{})
	defer n.Close()
	a, c := n.NewBind(addrA), n.NewBind(addrC)
	open(t, a, 1000)
	fc, _ := open(t, c, 2000)
	if err := a.Send([][]byte{{6}}, NewEndpoint(netip.MustParseAddrPort("[fd00::3]:2000"))); err != nil {
		t.Fatal(err)
	}
	recvAll(t, fc, 1, 1, time.Second)
	// A 4in6-mapped destination reaches the IPv4 socket.
	fa := a.sock.receive
	c.Send([][]byte{{4}}, NewEndpoint(netip.MustParseAddrPort("[::ffff:10.0.0.1]:1000")))
	recvAll(t, fa, 1, 1, time.Second)
}

func TestPortsInUse(t *testing.T) {
	n := New(Options{Seed: 1})
	defer n.Close()
	a := n.NewBind(addrA)
	_, p := open(t, a, 0)
	a2 := n.NewBind(addrA)
	if _, _, err := a2.Open(p); !errors.Is(err, syscall.EADDRINUSE) || !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("Open on taken port: %v, want EADDRINUSE", err)
	}
	if _, _, err := a.Open(0); !errors.Is(err, ErrAlreadyOpen) {
		t.Fatalf("second Open: %v, want ErrAlreadyOpen", err)
	}
	// Same port on another address is fine.
	b := n.NewBind(addrB)
	open(t, b, p)
	// After Close the port is free again.
	a.Close()
	open(t, a2, p)
	// Many allocations are distinct.
	seen := map[uint16]bool{p: true}
	for range 200 {
		x := n.NewBind(addrA)
		_, q := open(t, x, 0)
		if seen[q] {
			t.Fatalf("port %d allocated twice", q)
		}
		seen[q] = true
	}
}

func TestCloseUnblocksReceive(t *testing.T) {
	testenv.CheckGoroutines(t)
	n := New(Options{})
	a := n.NewBind(addrA)
	fns, _, err := a.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := fns[0](make([][]byte, 1), make([]int, 1), make([]bind.Endpoint, 1))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	a.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) || !errors.Is(err, bind.ErrClosed) {
			t.Fatalf("receive after Close: %v, want net.ErrClosed and bind.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("receive still blocked after Close")
	}
	if err := a.Send([][]byte{{1}}, NewEndpoint(netip.MustParseAddrPort("10.0.0.2:1"))); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Send on closed bind: %v", err)
	}
	// Reopen works; Network.Close closes it.
	fns, _, err = a.Open(0)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	n.Close()
	if _, err := fns[0](make([][]byte, 1), make([]int, 1), make([]bind.Endpoint, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("receive after Network.Close: %v", err)
	}
	if _, _, err := a.Open(0); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Open after Network.Close: %v", err)
	}
}

func TestSetMark(t *testing.T) {
	n := New(Options{})
	a := n.NewBind(addrA)
	a.SetMark(0x51820)
	if a.Mark() != 0x51820 {
		t.Fatalf("Mark = %#x", a.Mark())
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"1.2.3.4:51820", "1.2.3.4:51820", true},
		{"[fd00::1]:5", "[fd00::1]:5", true},
		{"[::ffff:1.2.3.4]:7", "1.2.3.4:7", true},
		{"1.2.3.4", "", false},
		{"host:1", "", false},
	} {
		ep, err := ParseEndpoint(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseEndpoint(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && ep.String() != tc.want {
			t.Errorf("ParseEndpoint(%q) = %v, want %v", tc.in, ep, tc.want)
		}
	}
}

// blast sends count numbered datagrams from a to b and returns the
// sequence numbers b received, in order of arrival.
func blast(t *testing.T, n *Network, count int) []uint32 {
	t.Helper()
	a, b, fb, ep := openPair(t, n)
	var seqs []uint32
	bufs := make([][]byte, 64)
	for i := range bufs {
		bufs[i] = make([]byte, 16)
	}
	sizes := make([]int, 64)
	eps := make([]bind.Endpoint, 64)
	for i := range count {
		var pkt [4]byte
		binary.BigEndian.PutUint32(pkt[:], uint32(i))
		if err := a.Send([][]byte{pkt[:]}, ep); err != nil {
			t.Fatal(err)
		}
		// Drain as we go so the queue never overflows.
		for len(b.sock.queue) > 0 {
			k, err := fb(bufs, sizes, eps)
			if err != nil {
				t.Fatal(err)
			}
			for j := range k {
				seqs = append(seqs, binary.BigEndian.Uint32(bufs[j][:4]))
			}
		}
	}
	return seqs
}

func TestLoss(t *testing.T) {
	n := New(Options{Seed: 42, Loss: 0.3, ReorderTimeout: time.Hour})
	defer n.Close()
	seqs := blast(t, n, 10000)
	if len(seqs) < 6700 || len(seqs) > 7300 {
		t.Fatalf("Loss 0.3 delivered %d of 10000, want about 7000", len(seqs))
	}
	if s := n.Stats(); s.Lost+uint64(len(seqs)) != 10000 || s.Sent != 10000 {
		t.Fatalf("stats %+v, delivered %d", s, len(seqs))
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("out of order without Reorder: %d after %d", seqs[i], seqs[i-1])
		}
	}
}

func TestDuplicate(t *testing.T) {
	n := New(Options{Seed: 7, Duplicate: 0.1})
	defer n.Close()
	seqs := blast(t, n, 10000)
	if len(seqs) < 10800 || len(seqs) > 11200 {
		t.Fatalf("Duplicate 0.1 delivered %d datagrams for 10000 sent, want about 11000", len(seqs))
	}
	count := map[uint32]int{}
	for _, s := range seqs {
		count[s]++
	}
	if len(count) != 10000 {
		t.Fatalf("%d distinct datagrams arrived, want all 10000", len(count))
	}
	if s := n.Stats(); int(s.Duplicated)+10000 != len(seqs) {
		t.Fatalf("Duplicated counter %d, but %d extra arrived", s.Duplicated, len(seqs)-10000)
	}
}

func TestReorder(t *testing.T) {
	n := New(Options{Seed: 9, Reorder: 0.2, ReorderTimeout: time.Hour})
	defer n.Close()
	seqs := blast(t, n, 10000)
	// The last datagram may still be held (timeout is an hour).
	if len(seqs) < 9999 {
		t.Fatalf("Reorder lost datagrams: %d of 10000 arrived", len(seqs))
	}
	inversions := 0
	for i := 1; i < len(seqs); i++ {
		if seqs[i] < seqs[i-1] {
			inversions++
		}
	}
	// A held datagram is overtaken by the next one: each hold is one
	// inversion. Holds happen with p=0.2 when nothing is held already.
	if inversions < 1300 || inversions > 2000 {
		t.Fatalf("Reorder 0.2 produced %d inversions in 10000, want about 1667", inversions)
	}
}

func TestReorderTimeoutFlushes(t *testing.T) {
	testenv.CheckGoroutines(t)
	n := New(Options{Reorder: 1, ReorderTimeout: time.Millisecond})
	defer n.Close()
	a, _, fb, toB := openPair(t, n)
	a.Send([][]byte{{1}}, toB)
	got, _ := recvAll(t, fb, 1, 1, time.Second)
	if got[0][0] != 1 {
		t.Fatalf("got %v", got)
	}
}

func TestDelay(t *testing.T) {
	testenv.CheckGoroutines(t)
	n := New(Options{})
	defer n.Close()
	n.SetDelay(30*time.Millisecond, 0)
	a, b, fb, toB := openPair(t, n)
	start := time.Now()
	a.Send([][]byte{{1}}, toB)
	if len(b.sock.queue) != 0 {
		t.Fatal("delayed datagram arrived immediately")
	}
	recvAll(t, fb, 1, 1, time.Second)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("arrived after %v, want >= 30ms", d)
	}
}

func TestOverflow(t *testing.T) {
	n := New(Options{QueueLen: 8})
	defer n.Close()
	a, b, _, ep := openPair(t, n)
	for range 20 {
		a.Send([][]byte{{1}}, ep)
	}
	if s := b.Stats(); s.Received != 8 || s.Overflow != 12 {
		t.Fatalf("stats %+v, want 8 received, 12 overflow", s)
	}
}

func TestBlocked(t *testing.T) {
	n := New(Options{})
	defer n.Close()
	a, b, _, ep := openPair(t, n)
	n.SetBlocked(addrB, addrA, true)
	a.Send([][]byte{{1}}, ep)
	n.SetBlocked(addrA, addrB, false)
	a.Send([][]byte{{1}}, ep)
	if s := b.Stats(); s.Received != 1 {
		t.Fatalf("received %d, want 1 (first blocked)", s.Received)
	}
	if s := a.Stats(); s.Lost != 1 {
		t.Fatalf("lost %d, want 1", s.Lost)
	}
}

func TestNAT(t *testing.T) {
	n := New(Options{})
	defer n.Close()
	inside := netip.MustParseAddr("192.168.1.10")
	out1 := netip.MustParseAddrPort("203.0.113.1:40000")
	out2 := netip.MustParseAddrPort("203.0.113.2:50000")
	client, server := n.NewBind(inside), n.NewBind(addrB)
	fc, pc := open(t, client, 0)
	fs, ps := open(t, server, 51820)
	serverEP := NewEndpoint(netip.AddrPortFrom(addrB, ps))

	n.SetNAT(inside, out1)
	// Unsolicited datagram to the outside address: dropped.
	server.Send([][]byte{{0}}, NewEndpoint(out1))
	if s := server.Stats(); s.NoRoute != 1 {
		t.Fatalf("unsolicited datagram through NAT not dropped: %+v", s)
	}

	client.Send([][]byte{[]byte("hi")}, serverEP)
	_, eps := recvAll(t, fs, 1, 1, time.Second)
	if got := eps[0].DstAddrPort(); got != out1 {
		t.Fatalf("server sees client at %v, want NAT outside %v", got, out1)
	}
	server.Send([][]byte{[]byte("reply")}, eps[0])
	got, eps := recvAll(t, fc, 1, 1, time.Second)
	if string(got[0]) != "reply" || eps[0].DstAddrPort() != netip.AddrPortFrom(addrB, ps) {
		t.Fatalf("client got %q from %v", got[0], eps[0].DstAddrPort())
	}

	// The NAT rebinds: the old outside address is dead, the client appears at the new one.
	n.SetNAT(inside, out2)
	server.Send([][]byte{{0}}, NewEndpoint(out1))
	if s := server.Stats(); s.NoRoute != 2 {
		t.Fatalf("datagram to stale NAT mapping not dropped: %+v", s)
	}
	client.Send([][]byte{[]byte("again")}, serverEP)
	_, eps = recvAll(t, fs, 1, 1, time.Second)
	if got := eps[0].DstAddrPort(); got != out2 {
		t.Fatalf("after rebinding server sees client at %v, want %v", got, out2)
	}
	server.Send([][]byte{{2}}, eps[0])
	recvAll(t, fc, 1, 1, time.Second)

	// Without NAT the client is seen at its own address.
	n.ClearNAT(inside)
	client.Send([][]byte{{3}}, serverEP)
	_, eps = recvAll(t, fs, 1, 1, time.Second)
	if got := eps[0].DstAddrPort(); got != netip.AddrPortFrom(inside, pc) {
		t.Fatalf("after ClearNAT server sees %v", got)
	}
}

func TestMove(t *testing.T) {
	n := New(Options{})
	defer n.Close()
	a, b := n.NewBind(addrA), n.NewBind(addrB)
	_, pa := open(t, a, 0)
	fb, pb := open(t, b, 0)
	ep := NewEndpoint(netip.AddrPortFrom(addrB, pb))
	roamed := netip.MustParseAddr("10.0.7.7")
	if err := a.Move(roamed); err != nil {
		t.Fatal(err)
	}
	if a.LocalAddrPort() != netip.AddrPortFrom(roamed, pa) {
		t.Fatalf("LocalAddrPort after Move = %v", a.LocalAddrPort())
	}
	a.Send([][]byte{{1}}, ep)
	_, eps := recvAll(t, fb, 1, 1, time.Second)
	if got := eps[0].DstAddrPort(); got != netip.AddrPortFrom(roamed, pa) {
		t.Fatalf("after Move peer sees %v", got)
	}
	// The old address no longer reaches a.
	b.Send([][]byte{{1}}, NewEndpoint(netip.AddrPortFrom(addrA, pa)))
	if s := b.Stats(); s.NoRoute != 1 {
		t.Fatalf("datagram to old address delivered: %+v", s)
	}
	// Moving onto a taken address:port fails.
	c := n.NewBind(netip.MustParseAddr("10.0.8.8"))
	open(t, c, pa)
	if err := a.Move(netip.MustParseAddr("10.0.8.8")); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Move onto taken address: %v", err)
	}
}

func TestDelayKeepsOrder(t *testing.T) {
	testenv.CheckGoroutines(t)
	n := New(Options{Delay: 2 * time.Millisecond})
	defer n.Close()
	a, _, fb, ep := openPair(t, n)
	for i := range 500 {
		a.Send([][]byte{{byte(i >> 8), byte(i)}}, ep)
	}
	got, _ := recvAll(t, fb, 64, 500, 5*time.Second)
	for i, p := range got {
		if int(p[0])<<8|int(p[1]) != i {
			t.Fatalf("datagram %d arrived as %d-th: constant delay reordered", int(p[0])<<8|int(p[1]), i)
		}
	}
}

func TestJitterReordersButDelivers(t *testing.T) {
	testenv.CheckGoroutines(t)
	n := New(Options{Seed: 5})
	defer n.Close()
	n.SetDelay(time.Millisecond, 5*time.Millisecond)
	a, _, fb, ep := openPair(t, n)
	for i := range 500 {
		a.Send([][]byte{{byte(i >> 8), byte(i)}}, ep)
	}
	got, _ := recvAll(t, fb, 64, 500, 5*time.Second)
	seen, inversions := map[int]bool{}, 0
	for i, p := range got {
		seen[int(p[0])<<8|int(p[1])] = true
		if i > 0 && int(p[0])<<8|int(p[1]) < int(got[i-1][0])<<8|int(got[i-1][1]) {
			inversions++
		}
	}
	if len(seen) != 500 {
		t.Fatalf("%d distinct datagrams arrived, want 500", len(seen))
	}
	if inversions == 0 {
		t.Fatal("5ms jitter on a burst reordered nothing")
	}
}

// TestSynctestDelay shows the network runs on testing/synctest's fake clock:
// a one-hour delay passes instantly.
func TestSynctestDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Options{Delay: time.Hour})
		defer n.Close()
		a, _, fb, toB := openPair(t, n)
		start := time.Now()
		a.Send([][]byte{{1}}, toB)
		bufs, sizes, eps := [][]byte{make([]byte, 8)}, []int{0}, []bind.Endpoint{nil}
		if _, err := fb(bufs, sizes, eps); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != time.Hour {
			t.Fatalf("delivered after %v of fake time, want 1h", d)
		}
	})
}

func TestFilter(t *testing.T) {
	n, a, b := Pipe(Options{})
	defer n.Close()
	open(t, a, 1)
	fb, pb := open(t, b, 2)
	ep := NewEndpoint(netip.AddrPortFrom(b.Addr(), pb))
	var seen []netip.AddrPort
	n.SetFilter(func(src, dst netip.AddrPort, data []byte) bool {
		seen = append(seen, src, dst)
		return data[0] != 0 // drop datagrams starting with 0
	})
	a.Send([][]byte{{0}, {1}}, ep)
	got, _ := recvAll(t, fb, 4, 1, time.Second)
	if len(got) != 1 || got[0][0] != 1 {
		t.Fatalf("got %v, want only the datagram the filter passed", got)
	}
	if s := a.Stats(); s.Filtered != 1 || s.Sent != 2 {
		t.Fatalf("stats %+v", s)
	}
	if len(seen) != 4 || seen[0] != netip.AddrPortFrom(a.Addr(), 1) || seen[1] != ep.DstAddrPort() {
		t.Fatalf("filter saw %v", seen)
	}
	n.SetFilter(nil)
	a.Send([][]byte{{0}}, ep)
	recvAll(t, fb, 4, 1, time.Second)
}

func TestOpenBadAddr(t *testing.T) {
	n := New(Options{})
	defer n.Close()
	for _, addr := range []netip.Addr{{}, netip.IPv4Unspecified(), netip.IPv6Unspecified()} {
		if _, _, err := n.NewBind(addr).Open(0); !errors.Is(err, ErrBadAddr) {
			t.Errorf("Open at %v: %v, want ErrBadAddr", addr, err)
		}
	}
}

func TestManualClockDelay(t *testing.T) {
	clk := clock.NewManual(time.Unix(1e9, 0))
	n := New(Options{Clock: clk, Delay: time.Second, Jitter: time.Second, Seed: 3})
	defer n.Close()
	a, b, _, ep := openPair(t, n)
	for i := range 100 {
		a.Send([][]byte{{byte(i)}}, ep)
	}
	if got := len(b.sock.queue); got != 0 {
		t.Fatalf("%d datagrams arrived before the clock moved", got)
	}
	clk.Advance(999 * time.Millisecond)
	if got := len(b.sock.queue); got != 0 {
		t.Fatalf("%d datagrams arrived before the minimum delay", got)
	}
	clk.Advance(500 * time.Millisecond)
	mid := len(b.sock.queue)
	if mid == 0 || mid == 100 {
		t.Fatalf("%d of 100 arrived halfway through the jitter window, want some", mid)
	}
	clk.Advance(time.Second)
	if got := len(b.sock.queue); got != 100 {
		t.Fatalf("%d of 100 arrived after the longest delay", got)
	}
}

func TestConcurrentSenders(t *testing.T) {
	testenv.CheckGoroutines(t)
	n := New(Options{Seed: 11, Loss: 0.1, Duplicate: 0.1, Reorder: 0.1, QueueLen: 1 << 16})
	defer n.Close()
	dst := n.NewBind(addrB)
	fb, pb := open(t, dst, 0)
	ep := NewEndpoint(netip.AddrPortFrom(addrB, pb))
	const senders, each = 8, 500
	done := make(chan struct{})
	for i := range senders {
		s := n.NewBind(netip.AddrFrom4([4]byte{10, 1, 0, byte(i + 1)}))
		open(t, s, 0)
		go func() {
			defer func() { done <- struct{}{} }()
			for range each {
				s.Send([][]byte{{byte(i)}}, ep)
				n.SetLoss(0.1) // knobs may change while others send
			}
		}()
	}
	for range senders {
		<-done
	}
	st := n.Stats()
	if st.Sent != senders*each {
		t.Fatalf("Sent = %d, want %d", st.Sent, senders*each)
	}
	if st.Received+st.Lost-st.Duplicated != st.Sent {
		// Every datagram is lost or received once, plus duplicates, except
		// one that may still be held for reordering.
		held := st.Sent - (st.Received + st.Lost - st.Duplicated)
		if held != 1 {
			t.Fatalf("stats do not add up: %+v", st)
		}
	}
	recvAll(t, fb, 64, int(st.Received), time.Second)
}

func BenchmarkSendReceive(b *testing.B) {
	n := New(Options{})
	defer n.Close()
	src, dst := n.NewBind(addrA), n.NewBind(addrB)
	if _, _, err := src.Open(0); err != nil {
		b.Fatal(err)
	}
	fns, port, err := dst.Open(0)
	if err != nil {
		b.Fatal(err)
	}
	ep := NewEndpoint(netip.AddrPortFrom(addrB, port))
	const batch = 64
	out := make([][]byte, batch)
	for i := range out {
		out[i] = make([]byte, 1400)
	}
	in, sizes, eps := make([][]byte, batch), make([]int, batch), make([]bind.Endpoint, batch)
	for i := range in {
		in[i] = make([]byte, 1500)
	}
	b.SetBytes(batch * 1400)
	for b.Loop() {
		src.Send(out, ep)
		for got := 0; got < batch; {
			k, err := fns[0](in, sizes, eps)
			if err != nil {
				b.Fatal(err)
			}
			got += k
		}
	}
}

func TestNATTimeout(t *testing.T) {
	clk := clock.NewManual(time.Unix(1e9, 0))
	n := New(Options{Clock: clk, NATTimeout: 30 * time.Second})
	defer n.Close()
	inside := netip.MustParseAddr("192.168.1.10")
	out := netip.MustParseAddrPort("203.0.113.1:40000")
	n.SetNAT(inside, out)
	client, server := n.NewBind(inside), n.NewBind(addrB)
	open(t, client, 0)
	_, ps := open(t, server, 0)
	client.Send([][]byte{{1}}, NewEndpoint(netip.AddrPortFrom(addrB, ps)))
	clk.Advance(29 * time.Second)
	server.Send([][]byte{{2}}, NewEndpoint(out))
	if s := client.Stats(); s.Received != 1 {
		t.Fatalf("reply within the NAT timeout not delivered: %+v", s)
	}
	clk.Advance(31 * time.Second) // the reply does not refresh the mapping
	server.Send([][]byte{{3}}, NewEndpoint(out))
	if s := client.Stats(); s.Received != 1 {
		t.Fatalf("reply after the NAT timeout delivered: %+v", s)
	}
	client.Send([][]byte{{4}}, NewEndpoint(netip.AddrPortFrom(addrB, ps)))
	server.Send([][]byte{{5}}, NewEndpoint(out))
	if s := client.Stats(); s.Received != 2 {
		t.Fatalf("reply after the mapping was refreshed not delivered: %+v", s)
	}
}

func TestMaxDatagram(t *testing.T) {
	n, a, b := Pipe(Options{})
	defer n.Close()
	open(t, a, 0)
	fb, pb := open(t, b, 0)
	n.SetMaxDatagram(1280)
	a.Send([][]byte{make([]byte, 1281), make([]byte, 1280)}, NewEndpoint(netip.AddrPortFrom(b.Addr(), pb)))
	got, _ := recvAll(t, fb, 4, 1, time.Second)
	if len(got[0]) != 1280 {
		t.Fatalf("got a %d-byte datagram", len(got[0]))
	}
	if s := a.Stats(); s.TooBig != 1 || b.Stats().Received != 1 {
		t.Fatalf("stats %+v / %+v", s, b.Stats())
	}
}
