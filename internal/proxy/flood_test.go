package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/testenv"
)

// usage is what the process holds: open file descriptors, goroutines,
// live heap (after a GC), goroutine stacks and resident memory.
type usage struct {
	fds, goroutines   int
	heap, stacks, rss uint64
}

func (u usage) String() string {
	return fmt.Sprintf("%d fds, %d goroutines, heap %.1f MiB, stacks %.1f MiB, RSS %.1f MiB",
		u.fds, u.goroutines, float64(u.heap)/(1<<20), float64(u.stacks)/(1<<20), float64(u.rss)/(1<<20))
}

// measure samples the process's usage.
func measure(t testing.TB) usage {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	u := usage{fds: len(ents), goroutines: runtime.NumGoroutine(), heap: ms.HeapAlloc, stacks: ms.StackInuse}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				u.rss = kb << 10
			}
		}
	}
	return u
}

// delta is after minus before, field by field (heap and RSS may shrink).
type delta struct {
	fds, goroutines   int
	heap, stacks, rss int64
}

func (d delta) String() string {
	return fmt.Sprintf("%+d fds, %+d goroutines, heap %+.1f MiB, stacks %+.1f MiB, RSS %+.1f MiB",
		d.fds, d.goroutines, float64(d.heap)/(1<<20), float64(d.stacks)/(1<<20), float64(d.rss)/(1<<20))
}

func sub(a, b usage) delta {
	return delta{a.fds - b.fds, a.goroutines - b.goroutines, int64(a.heap) - int64(b.heap), int64(a.stacks) - int64(b.stacks), int64(a.rss) - int64(b.rss)}
}

// countingEcho is a UDP echo server on loopback that counts datagrams.
func countingEcho(t testing.TB) (addr string, n *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n = new(atomic.Int64)
	echo := testenv.EchoPackets("local:")
	testenv.ServePackets(t, pc, func(p []byte, from net.Addr) []byte {
		n.Add(1)
		return echo(p, from)
	})
	return pc.LocalAddr().String(), n
}

// waitCount waits until n reaches want or stops growing for a second.
func waitCount(n *atomic.Int64, want int64) int64 {
	last, since := n.Load(), time.Now()
	for n.Load() < want && time.Since(since) < time.Second {
		time.Sleep(20 * time.Millisecond)
		if v := n.Load(); v != last {
			last, since = v, time.Now()
		}
	}
	return n.Load()
}

// floodUDPFromTunnel sends count one-byte datagrams from distinct source
// ports of the reference to dst.
func floodUDPFromTunnel(t testing.TB, env *testEnv, dst netip.AddrPort, count int) {
	t.Helper()
	for i := range count {
		c, err := env.ref.net.DialUDPAddrPort(netip.AddrPort{}, dst)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		c.Write([]byte{byte(i)})
		c.Close()
	}
}

// echoOnce sends one byte on c and waits for it back.
func echoOnce(c net.Conn) error {
	c.SetDeadline(time.Now().Add(15 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte{'x'}); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return err
	}
	if b[0] != 'x' {
		return fmt.Errorf("echo %q", b[:])
	}
	return nil
}

// dialSOCKS5Echo opens a SOCKS5 CONNECT to the reference's echo port.
func dialSOCKS5Echo(proxyAddr string, local netip.Addr) (net.Conn, error) {
	d := net.Dialer{LocalAddr: tcpAddr(local)}
	c, err := d.Dial("tcp", proxyAddr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(15 * time.Second))
	req := []byte{5, 1, 0, 5, cmdConnect, 0, atypIPv4, 10, 77, 0, 1, 0, 7}
	if _, err := c.Write(req); err != nil {
		c.Close()
		return nil, err
	}
	var rep [2 + 10]byte
	if _, err := io.ReadFull(c, rep[:]); err != nil {
		c.Close()
		return nil, err
	}
	if rep[3] != repSucceeded {
		c.Close()
		return nil, fmt.Errorf("reply %d", rep[3])
	}
	return c, echoOnce(c)
}

// dialHTTPEcho opens an HTTP CONNECT tunnel to the reference's echo port.
func dialHTTPEcho(proxyAddr string, local netip.Addr) (net.Conn, error) {
	d := net.Dialer{LocalAddr: tcpAddr(local)}
	c, err := d.Dial("tcp", proxyAddr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(15 * time.Second))
	io.WriteString(c, "CONNECT 10.77.0.1:7 HTTP/1.1\r\nHost: 10.77.0.1:7\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != 200 {
		c.Close()
		return nil, fmt.Errorf("CONNECT: %s", resp.Status)
	}
	return c, echoOnce(c)
}

func dialTCPEcho(addr string, local netip.Addr) (net.Conn, error) {
	d := net.Dialer{LocalAddr: tcpAddr(local)}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return c, echoOnce(c)
}

func tcpAddr(a netip.Addr) net.Addr {
	if !a.IsValid() {
		return nil
	}
	return &net.TCPAddr{IP: a.AsSlice()}
}

// flood opens n connections with dial, 8 at a time, and returns those
// that were served; the others (refused by a limit) are closed.
func flood(t testing.TB, n int, dial func() (net.Conn, error)) (conns []net.Conn) {
	t.Helper()
	served := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := dial()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if c != nil {
					c.Close()
				}
				return
			}
			served++
			conns = append(conns, c)
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

var (
	loopback1 = netip.MustParseAddr("127.0.0.1")
	loopback2 = netip.MustParseAddr("127.0.0.2")
)

// plainEcho is a TCP echo server on loopback that copies through a small
// buffer: io.Copy between TCPConns would splice through a pipe, two more
// descriptors per connection in the count.
func plainEcho(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testenv.ServeConns(t, l, func(c net.Conn) {
		io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, make([]byte, 512))
	})
	return l.Addr().String()
}

// settle waits until the number of goroutines has held still for a
// while (teardown of earlier work, set-up of the last), so that a
// measurement that follows counts what stays.
func settle() {
	deadline := time.Now().Add(5 * time.Second)
	last, since := runtime.NumGoroutine(), time.Now()
	for time.Since(since) < 300*time.Millisecond && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if n := runtime.NumGoroutine(); n != last {
			last, since = n, time.Now()
		}
	}
}

// checkBounded fails the test if the flood left more than perServed of
// each resource per connection or flow it was served, plus slack.
func checkBounded(t *testing.T, d delta, served int, fds, goroutines int, heap int64) {
	t.Helper()
	const slack = 8
	if d.fds > fds*served+slack {
		t.Errorf("%d file descriptors for %d served, want at most %d", d.fds, served, fds*served+slack)
	}
	if d.goroutines > goroutines*served+slack {
		t.Errorf("%d goroutines for %d served, want at most %d", d.goroutines, served, goroutines*served+slack)
	}
	if raceEnabled {
		heap *= 2
	}
	if d.heap > heap*int64(served)+4<<20 {
		t.Errorf("heap grew %.1f MiB for %d served, want at most %.1f MiB", float64(d.heap)/(1<<20), served,
			float64(heap*int64(served)+4<<20)/(1<<20))
	}
}

// TestFloodReverseUDP: 2,000 one-byte datagrams from distinct ports of a
// tunnel peer to a reverse UDP forward leave at most the per-source cap
// of flows (each one socket and one goroutine, no buffer), and clients
// — of another address, and of the flooding one — are served during and
// after.
func TestFloodReverseUDP(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	target, got := countingEcho(t)
	lim := NewLimiter(DefaultLimits(), t.Logf)
	f := &Forwarder{Tunnel: env.tun, Forward: Forward{Reverse: true, UDP: true, Listen: "5300", Target: target}, Logf: t.Logf, Limiter: lim}
	ls, pcs, err := f.Listen()
	if err != nil {
		t.Fatal(err)
	}
	f.Serve(ls, pcs)
	t.Cleanup(func() { f.Close() })
	client := func(src, dst netip.Addr) {
		t.Helper()
		c, err := env.ref.net.DialUDPAddrPort(netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 5300))
		if err != nil {
			t.Fatal(err)
		}
		echoUDP(t, c, "local:")
	}
	client(refV6, warrenV6)
	settle()
	before := measure(t)
	floodUDPFromTunnel(t, env, netip.AddrPortFrom(warrenV4, 5300), 1000)
	client(refV6, warrenV6) // during: another address
	client(refV4, warrenV4) // during: the flooding address
	floodUDPFromTunnel(t, env, netip.AddrPortFrom(warrenV4, 5300), 1000)
	n := waitCount(got, 2000)
	settle()
	after := measure(t)
	d := sub(after, before)
	held := lim.flows.held()
	t.Logf("2000 datagrams (%d reached the target): %d flows held; %v", n, held, d)
	if held > DefaultLimits().UDPFlowsPerSource+2 {
		t.Errorf("%d flows held, want at most the per-source cap %d and two clients", held, DefaultLimits().UDPFlowsPerSource)
	}
	// Each flow: its socket to the target and its reader.
	checkBounded(t, d, held, 1, 1, 16<<10)
	client(refV6, warrenV6) // after
	client(refV4, warrenV4)
}

// TestFloodIdleTCP: 400 idle connections to each kind of TCP listener
// from one address leave at most the per-source cap held (two sockets
// and two goroutines each, no buffer); a client of another address is
// served during the flood, one of the flooding address as soon as the
// flood's connections have been idle a second, and everyone after.
func TestFloodIdleTCP(t *testing.T) {
	testenv.CheckGoroutines(t)
	for _, tc := range []struct {
		name string
		// start starts the listener; dial connects from src (a loopback
		// address or, for a reverse forward, a tunnel address) and
		// echoes a byte.
		start func(t *testing.T, env *testEnv, lim *Limiter) (dial func(src netip.Addr) (net.Conn, error), flooder, other netip.Addr)
	}{
		{"socks5", func(t *testing.T, env *testEnv, lim *Limiter) (func(netip.Addr) (net.Conn, error), netip.Addr, netip.Addr) {
			addr := startSOCKS5(t, &SOCKS5Server{Net: env.tun, Limiter: lim})
			return func(src netip.Addr) (net.Conn, error) { return dialSOCKS5Echo(addr, src) }, loopback1, loopback2
		}},
		{"http", func(t *testing.T, env *testEnv, lim *Limiter) (func(netip.Addr) (net.Conn, error), netip.Addr, netip.Addr) {
			addr := startHTTP(t, &HTTPServer{Net: env.tun, Limiter: lim})
			return func(src netip.Addr) (net.Conn, error) { return dialHTTPEcho(addr, src) }, loopback1, loopback2
		}},
		{"forward", func(t *testing.T, env *testEnv, lim *Limiter) (func(netip.Addr) (net.Conn, error), netip.Addr, netip.Addr) {
			f := &Forwarder{Tunnel: env.tun, Forward: Forward{Listen: "127.0.0.1:0", Target: "10.77.0.1:7"}, Limiter: lim}
			ls, _, err := f.Listen()
			if err != nil {
				t.Fatal(err)
			}
			f.Serve(ls, nil)
			t.Cleanup(func() { f.Close() })
			addr := ls[0].Addr().String()
			return func(src netip.Addr) (net.Conn, error) { return dialTCPEcho(addr, src) }, loopback1, loopback2
		}},
		{"reverse forward", func(t *testing.T, env *testEnv, lim *Limiter) (func(netip.Addr) (net.Conn, error), netip.Addr, netip.Addr) {
			f := &Forwarder{Tunnel: env.tun, Forward: Forward{Reverse: true, Listen: "8022", Target: plainEcho(t)}, Limiter: lim}
			ls, _, err := f.Listen()
			if err != nil {
				t.Fatal(err)
			}
			f.Serve(ls, nil)
			t.Cleanup(func() { f.Close() })
			return func(src netip.Addr) (net.Conn, error) {
				dst := warrenV4
				if src.Is6() {
					dst = warrenV6
				}
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				c, err := env.ref.net.DialContextTCPAddrPort(ctx, netip.AddrPortFrom(dst, 8022))
				if err != nil {
					return nil, err
				}
				return c, echoOnce(c)
			}, refV4, refV6
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			clock := &fakeClock{now: time.Now()}
			lim := NewLimiter(DefaultLimits(), t.Logf)
			lim.setClock(clock.Now)
			dial, flooder, other := tc.start(t, env, lim)
			served := func(src netip.Addr, what string) {
				t.Helper()
				c, err := dial(src)
				if err != nil {
					t.Fatalf("%s from %v not served: %v", what, src, err)
				}
				c.Close()
			}
			served(other, "warm-up")
			settle()
			before := measure(t)
			conns := flood(t, 400, func() (net.Conn, error) { return dial(flooder) })
			settle()
			after := measure(t)
			d := sub(after, before)
			perSource := DefaultLimits().ConnsPerSource
			t.Logf("400 idle connections: %d served, %d held; %v", len(conns), lim.conns.held(), d)
			if len(conns) != perSource || lim.conns.held() > perSource {
				t.Errorf("%d served and %d held, want the per-source cap %d", len(conns), lim.conns.held(), perSource)
			}
			// Each: the client's socket (none for a tunnel peer) and ours,
			// or ours and the local target's; our two relay goroutines and
			// the echo server's.
			checkBounded(t, d, len(conns), 2, 3, 96<<10)

			served(other, "during the flood, a client of another address")
			if c, err := dial(flooder); err == nil {
				c.Close()
				t.Errorf("a newcomer from the flooding address was served while all %d of its connections were fresh", perSource)
			}
			clock.Advance(2 * evictMinIdle)
			served(flooder, "during the flood, once it is idle, a client of the flooding address")
			if h := lim.conns.held(); h > perSource+1 {
				t.Errorf("%d held, want at most %d", h, perSource+1)
			}
			for _, c := range conns {
				c.Close()
			}
			deadline := time.Now().Add(10 * time.Second)
			for lim.conns.held() > 1 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if h := lim.conns.held(); h > 1 {
				t.Errorf("%d connections held after the flood's closed", h)
			}
			served(flooder, "after the flood, a client of the flooding address")
			served(other, "after the flood, a client of another address")
		})
	}
}

// TestFloodAssociations: UDP associations from one address stop at the
// per-source cap (three sockets and two goroutines each, no buffer); once
// they are idle a newcomer takes the place of the least recently active,
// never of one in use; another address is served throughout.
func TestFloodAssociations(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	rec := recordUDP(t, env, 9)
	clock := &fakeClock{now: time.Now()}
	lim := NewLimiter(DefaultLimits(), t.Logf)
	lim.setClock(clock.Now)
	addr := startSOCKS5(t, &SOCKS5Server{Net: env.tun, Limiter: lim})
	// associate asks for an association from src and returns its control
	// connection and relay, or an error if refused.
	associate := func(src netip.Addr) (net.Conn, netip.AddrPort, error) {
		d := net.Dialer{LocalAddr: tcpAddr(src)}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return nil, netip.AddrPort{}, err
		}
		c.SetDeadline(time.Now().Add(15 * time.Second))
		c.Write([]byte{5, 1, 0, 5, cmdUDPAssociate, 0, atypIPv4, 0, 0, 0, 0, 0, 0})
		var rep [2 + 10]byte
		if _, err := io.ReadFull(c, rep[:]); err != nil {
			c.Close()
			return nil, netip.AddrPort{}, err
		}
		if rep[3] != repSucceeded {
			c.Close()
			return nil, netip.AddrPort{}, fmt.Errorf("reply %d", rep[3])
		}
		c.SetDeadline(time.Time{})
		return c, netip.AddrPortFrom(netip.AddrFrom4([4]byte(rep[6:10])), uint16(rep[10])<<8|uint16(rep[11])), nil
	}
	settle()
	before := measure(t)
	type assoc struct {
		ctrl  net.Conn
		relay netip.AddrPort
	}
	var held []assoc
	refused := 0
	for range 100 {
		c, relay, err := associate(loopback1)
		if err != nil {
			refused++
			continue
		}
		t.Cleanup(func() { c.Close() })
		held = append(held, assoc{c, relay})
	}
	settle()
	d := sub(measure(t), before)
	perSource := DefaultLimits().AssociationsPerSource
	t.Logf("100 associations from one address: %d served, %d refused; %v", len(held), refused, d)
	if len(held) != perSource || lim.assocs.held() != perSource {
		t.Fatalf("%d served, %d held; want the per-source cap %d", len(held), lim.assocs.held(), perSource)
	}
	// Each: the client's control socket and ours, our relay socket; the
	// control connection's handler and the relay's reader.
	checkBounded(t, d, len(held), 3, 2, 32<<10)

	other, otherRelay, err := associate(loopback2)
	if err != nil {
		t.Fatalf("another address refused: %v", err)
	}
	defer other.Close()
	exchange(t, udpFrom(t, netip.AddrPortFrom(loopback2, 0), otherRelay), rec.addr, "other address")

	clock.Advance(2 * evictMinIdle)
	// The first association is in use; the others have been idle.
	inUse := udpFrom(t, netip.AddrPortFrom(loopback1, 0), held[0].relay)
	exchange(t, inUse, rec.addr, "in use")
	newcomer, newRelay, err := associate(loopback1)
	if err != nil {
		t.Fatalf("a newcomer was refused though idle associations could make room: %v", err)
	}
	defer newcomer.Close()
	exchange(t, udpFrom(t, netip.AddrPortFrom(loopback1, 0), newRelay), rec.addr, "newcomer")
	exchange(t, inUse, rec.addr, "still in use")
	// Exactly one idle association ended: its control connection closed.
	var ended sync.WaitGroup
	var mu sync.Mutex
	var closed []int
	for i, a := range held {
		ended.Go(func() {
			a.ctrl.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := a.ctrl.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				mu.Lock()
				closed = append(closed, i)
				mu.Unlock()
			}
		})
	}
	ended.Wait()
	if len(closed) != 1 || closed[0] == 0 {
		t.Errorf("associations ended: %v; want one, not the one in use (0)", closed)
	}
}
