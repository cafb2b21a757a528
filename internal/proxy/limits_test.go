package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warren-vpn/warren/internal/testenv"
)

// fakeClock is a settable clock for a Limiter.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// holder is something a test table holds: it knows whether it was ended.
type holder struct {
	name  string
	slot  *slot
	ended bool
}

func TestTableEviction(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	var logs []string
	tb := newTable("TCP connection", 4, 2, time.Second, func(f string, a ...any) {
		logs = append(logs, f)
	})
	tb.now = clock.Now
	srcA, srcB, srcC := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	admit := func(name string, src netip.Addr) (*holder, error) {
		h := &holder{name: name}
		s, err := tb.admit(src, func() { h.ended = true })
		h.slot = s
		return h, err
	}
	mustAdmit := func(name string, src netip.Addr) *holder {
		t.Helper()
		h, err := admit(name, src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return h
	}
	mustRefuse := func(name string, src netip.Addr) {
		t.Helper()
		if _, err := admit(name, src); !errors.Is(err, ErrLimit) {
			t.Fatalf("%s: %v, want ErrLimit", name, err)
		}
	}
	a1 := mustAdmit("a1", srcA)
	clock.Advance(100 * time.Millisecond)
	a2 := mustAdmit("a2", srcA)
	// A's per-source cap is reached and both of its connections are fresh.
	mustRefuse("a3", srcA)
	clock.Advance(2 * time.Second)
	a2.slot.touch() // a2 is active; a1 has been idle for 2.1 s
	a3 := mustAdmit("a3", srcA)
	if !a1.ended || a2.ended {
		t.Fatalf("per-source eviction ended a1=%v a2=%v, want a1 (least recently active) only", a1.ended, a2.ended)
	}
	clock.Advance(10 * time.Millisecond)
	b1 := mustAdmit("b1", srcB)
	clock.Advance(10 * time.Millisecond)
	b2 := mustAdmit("b2", srcB)
	if n := tb.held(); n != 4 {
		t.Fatalf("held %d, want 4", n)
	}
	// The total cap is reached; everything moved within the last second.
	mustRefuse("c1", srcC)
	clock.Advance(1500 * time.Millisecond)
	a2.slot.touch()
	a3.slot.touch()
	b2.slot.touch()
	clock.Advance(1500 * time.Millisecond)
	// b1 is now the least recently active of all (idle 3 s).
	c1 := mustAdmit("c1", srcC)
	if !b1.ended || a2.ended || a3.ended || b2.ended {
		t.Fatalf("total-cap eviction: b1=%v a2=%v a3=%v b2=%v, want b1 only", b1.ended, a2.ended, a3.ended, b2.ended)
	}
	// Releasing makes room without evicting anyone.
	c1.slot.release()
	c1.slot.release() // twice is harmless
	c2 := mustAdmit("c2", srcC)
	if a2.ended || a3.ended || b2.ended {
		t.Fatal("admitting into a free place evicted someone")
	}
	// An evicted slot's late release does not free someone else's place.
	b1.slot.release()
	if n := tb.held(); n != 4 {
		t.Fatalf("held %d after a late release, want 4", n)
	}
	_ = c2
	// The log says so once, not once per event, within limitLogEvery.
	if len(logs) != 1 {
		t.Errorf("%d log lines, want 1 (throttled): %q", len(logs), logs)
	}

	t.Run("UDP flows are evicted however recent", func(t *testing.T) {
		flows := newTable("UDP flow", 2, 0, 0, nil)
		flows.now = clock.Now
		var ended []string
		for _, name := range []string{"f1", "f2", "f3", "f4"} {
			if _, err := flows.admit(srcA, func() { ended = append(ended, name) }); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Millisecond)
		}
		if strings.Join(ended, ",") != "f1,f2" || flows.held() != 2 {
			t.Errorf("ended %v, held %d; want f1,f2 and 2", ended, flows.held())
		}
	})
	t.Run("no caps", func(t *testing.T) {
		free := newTable("TCP connection", 0, 0, time.Second, nil)
		for range 5000 {
			if _, err := free.admit(srcA, func() {}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestLimitsValidate(t *testing.T) {
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Limits{}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, l := range []Limits{{Conns: -1}, {UDPFlowsPerSource: -5}, {TCPIdle: -time.Second}} {
		if err := l.Validate(); !errors.Is(err, ErrLimits) {
			t.Errorf("%+v: %v, want ErrLimits", l, err)
		}
	}
}

// TestRelayIdleTimeout: a relay silent for TCPIdle is closed; one that
// moves a byte now and then, in either direction, lives on for hours.
func TestRelayIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const idle = time.Hour
		cl, a := net.Pipe()
		b, srv := net.Pipe()
		done := make(chan struct{})
		go func() {
			relay(a, b, idle)
			close(done)
		}()
		buf := make([]byte, 1)
		for i := range 10 {
			time.Sleep(45 * time.Minute)
			from, to := cl, srv
			if i%2 == 1 {
				from, to = srv, cl
			}
			if _, err := from.Write([]byte{byte(i)}); err != nil {
				t.Fatalf("after %v: %v", time.Duration(i+1)*45*time.Minute, err)
			}
			if _, err := io.ReadFull(to, buf); err != nil || buf[0] != byte(i) {
				t.Fatalf("after %v: read %v, %v", time.Duration(i+1)*45*time.Minute, buf, err)
			}
		}
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("an active connection was cut")
		default:
		}
		time.Sleep(idle - time.Minute)
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("cut before the idle timeout")
		default:
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("an idle connection outlived the idle timeout")
		}
		if _, err := cl.Read(buf); err == nil {
			t.Error("the client's side is still open")
		}
		cl.Close()
		srv.Close()
	})
}

// TestRelayHoldsNoBufferWhileIdle: relays between system sockets that
// have moved data and gone quiet hold no copy buffer.
func TestRelayHoldsNoBufferWhileIdle(t *testing.T) {
	testenv.CheckGoroutines(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const n = 64
	pair := func() (client, server net.Conn) {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return c, s
	}
	var ends []net.Conn
	var wg sync.WaitGroup
	before := measure(t)
	for range n {
		c1, s1 := pair()
		c2, s2 := pair()
		ends = append(ends, c1, c2)
		wg.Go(func() { relay(s1, s2, 0) })
		// One byte each way: both directions have had a buffer in hand.
		for _, dir := range [][2]net.Conn{{c1, c2}, {c2, c1}} {
			dir[0].Write([]byte{1})
			var b [1]byte
			if _, err := io.ReadFull(dir[1], b[:]); err != nil {
				t.Fatal(err)
			}
		}
	}
	after := measure(t)
	d := sub(after, before)
	perRelay := d.heap / n
	t.Logf("%d idle relays: %v; %d bytes of heap each", n, d, perRelay)
	// Two 256 KiB buffers each before the pool; sockets and bookkeeping
	// are a few KiB.
	if perRelay > 16<<10 {
		t.Errorf("each idle relay holds %d bytes of heap, want at most 16 KiB (no copy buffer)", perRelay)
	}
	for _, c := range ends {
		c.Close()
	}
	wg.Wait()
}

// TestWaitReadable: the buffer-free wait blocks while a connection is
// quiet — a system socket (also through limitedConn) and the userspace
// stack's TCP alike, or relays would spin — returns once a byte arrives,
// and leaves the byte to read.
func TestWaitReadable(t *testing.T) {
	testenv.CheckGoroutines(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testenv.ServeConns(t, l, func(c net.Conn) {
		io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, make([]byte, 64))
	})
	system, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer system.Close()
	checkWaitReadable(t, "system socket", system)
	checkWaitReadable(t, "limited", &limitedConn{Conn: system, slot: newTable("x", 0, 0, 0, nil).mustAdmit()})
}

func TestWaitReadableStack(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	stack, err := env.tun.Net.DialTCP(ctx, netip.AddrPortFrom(refV4, 7))
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	checkWaitReadable(t, "userspace stack", stack)
}

// checkWaitReadable checks waitReadable on c, an echo connection.
func checkWaitReadable(t *testing.T, name string, c net.Conn) {
	t.Run(name, func(t *testing.T) {
		done := make(chan struct{})
		go func() {
			waitReadable(c)
			close(done)
		}()
		select {
		case <-done:
			t.Fatal("returned with nothing to read")
		case <-time.After(200 * time.Millisecond):
		}
		c.Write([]byte{'w'})
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("still waiting with a byte to read")
		}
		b := make([]byte, 4)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(b); err != nil || string(b[:n]) != "w" {
			t.Fatalf("read %q, %v after the wait; want the byte", b[:n], err)
		}
	})
}

// mustAdmit takes a slot in a table without caps (tests).
func (t *table) mustAdmit() *slot {
	s, err := t.admit(netip.Addr{}, func() {})
	if err != nil {
		panic(err)
	}
	return s
}
