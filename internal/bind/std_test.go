package bind

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		name, in string
		want     netip.AddrPort
		wantErr  bool
	}{
		{"ipv4", "1.2.3.4:51820", netip.MustParseAddrPort("1.2.3.4:51820"), false},
		{"ipv6", "[fd00::1]:51820", netip.MustParseAddrPort("[fd00::1]:51820"), false},
		{"ipv4-mapped unmapped", "[::ffff:1.2.3.4]:51820", netip.MustParseAddrPort("1.2.3.4:51820"), false},
		{"link-local zone", "[fe80::1%3]:1", netip.MustParseAddrPort("[fe80::1%3]:1"), false},
		{"no port", "1.2.3.4", netip.AddrPort{}, true},
		{"hostname", "example.com:51820", netip.AddrPort{}, true},
		{"ipv6 without brackets", "fd00::1:51820", netip.AddrPort{}, true},
		{"empty", "", netip.AddrPort{}, true},
	}
	b := NewStd()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := b.ParseEndpoint(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseEndpoint(%q) = %v, want error", tt.in, ep)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEndpoint(%q): %v", tt.in, err)
			}
			if got := ep.DstAddrPort(); got != tt.want {
				t.Errorf("DstAddrPort = %v, want %v", got, tt.want)
			}
			if ep.SrcAddr().IsValid() {
				t.Errorf("SrcAddr = %v, want none", ep.SrcAddr())
			}
			if ep.String() != tt.want.String() {
				t.Errorf("String = %q, want %q", ep.String(), tt.want.String())
			}
		})
	}
}

// impls are the Binds over OS sockets that every test here runs against:
// the platform's NewStd and the portable one it falls back to elsewhere.
var impls = []struct {
	name string
	new  func() Bind
}{
	{"std", NewStd},
	{"portable", func() Bind { return &portableBind{} }},
}

// forEachImpl runs f as a subtest for each implementation.
func forEachImpl(t *testing.T, f func(t *testing.T, newBind func() Bind)) {
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) { f(t, impl.new) })
	}
}

// openStd opens a standard Bind on port and closes it when the test ends.
func openStd(t testing.TB, port uint16) (Bind, []ReceiveFunc, uint16) {
	t.Helper()
	return openBind(t, NewStd, port)
}

// openBind opens a Bind from newBind on port and closes it when the test ends.
func openBind(t testing.TB, newBind func() Bind, port uint16) (Bind, []ReceiveFunc, uint16) {
	t.Helper()
	b := newBind()
	fns, actual, err := b.Open(port)
	if err != nil {
		t.Fatalf("Open(%d): %v", port, err)
	}
	t.Cleanup(func() { b.Close() })
	return b, fns, actual
}

type received struct {
	bufs  [][]byte
	eps   []Endpoint
	err   error
	count int
}

// receiveN calls fn until it has n datagrams or fails; each fn call must
// return within the test's timeout.
func receiveN(b Bind, fn ReceiveFunc, n int) <-chan received {
	ch := make(chan received, 1)
	go func() {
		var r received
		bs := b.BatchSize()
		bufs := make([][]byte, bs)
		sizes := make([]int, bs)
		eps := make([]Endpoint, bs)
		for r.count < n {
			for i := range bufs {
				bufs[i] = make([]byte, 2000)
			}
			got, err := fn(bufs, sizes, eps)
			if err != nil {
				r.err = err
				break
			}
			for i := range got {
				r.bufs = append(r.bufs, bufs[i][:sizes[i]])
				r.eps = append(r.eps, eps[i])
			}
			r.count += got
		}
		ch <- r
	}()
	return ch
}

func waitReceived(t *testing.T, ch <-chan received) received {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("receive: %v", r.err)
		}
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("receive: timed out")
	}
	panic("unreachable")
}

// fnFor returns the receive function of the socket for addr's family:
// Open returns IPv4's first when both are open.
func fnFor(t *testing.T, fns []ReceiveFunc, addr netip.Addr) ReceiveFunc {
	t.Helper()
	if len(fns) != 2 {
		t.Skipf("host has only %d address families for UDP", len(fns))
	}
	if addr.Is4() {
		return fns[0]
	}
	return fns[1]
}

func TestLoopbackRoundTrip(t *testing.T) {
	forEachImpl(t, func(t *testing.T, newBind func() Bind) {
		for _, loop := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()} {
			t.Run(loop.String(), func(t *testing.T) {
				a, fnsA, portA := openBind(t, newBind, 0)
				b, fnsB, portB := openBind(t, newBind, 0)
				const n = 300 // more than one batch
				msgs := make([][]byte, n)
				for i := range msgs {
					msgs[i] = fmt.Appendf(nil, "datagram %d from a", i)
				}
				epB, err := a.ParseEndpoint(netip.AddrPortFrom(loop, portB).String())
				if err != nil {
					t.Fatal(err)
				}
				ch := receiveN(b, fnFor(t, fnsB, loop), n)
				for i := 0; i < n; i += a.BatchSize() {
					if err := a.Send(msgs[i:min(n, i+a.BatchSize())], epB); err != nil {
						t.Fatalf("Send: %v", err)
					}
				}
				r := waitReceived(t, ch)
				for i := range n {
					if !bytes.Equal(r.bufs[i], msgs[i]) {
						t.Fatalf("datagram %d = %q, want %q", i, r.bufs[i], msgs[i])
					}
					if got, want := r.eps[i].DstAddrPort(), netip.AddrPortFrom(loop, portA); got != want {
						t.Fatalf("datagram %d from %v, want %v", i, got, want)
					}
				}
				if src := r.eps[0].SrcAddr(); src.IsValid() && src != loop {
					t.Errorf("sticky source = %v, want %v", src, loop)
				}

				// Reply to the endpoint just learned.
				ch = receiveN(a, fnFor(t, fnsA, loop), 2)
				if err := b.Send([][]byte{[]byte("reply 1"), []byte("reply 2")}, r.eps[0]); err != nil {
					t.Fatalf("Send reply: %v", err)
				}
				r = waitReceived(t, ch)
				if string(r.bufs[0]) != "reply 1" || string(r.bufs[1]) != "reply 2" {
					t.Errorf("replies = %q", r.bufs)
				}
				if got, want := r.eps[0].DstAddrPort(), netip.AddrPortFrom(loop, portB); got != want {
					t.Errorf("reply from %v, want %v", got, want)
				}
			})
		}
	})
}

func TestOpenPortZeroSharedByBothFamilies(t *testing.T) {
	forEachImpl(t, func(t *testing.T, newBind func() Bind) {
		_, fns, port := openBind(t, newBind, 0)
		if port == 0 {
			t.Fatal("Open(0) reported port 0")
		}
		if len(fns) != 2 {
			t.Skipf("host has only %d address families for UDP", len(fns))
		}
		for _, network := range []string{"udp4", "udp6"} {
			c, err := net.ListenUDP(network, &net.UDPAddr{Port: int(port)})
			if err == nil {
				c.Close()
				t.Errorf("%s port %d is free; the Bind should hold it", network, port)
			} else if !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("listen %s port %d: %v, want EADDRINUSE", network, port, err)
			}
		}
	})
}

func TestOpenAddrInUse(t *testing.T) {
	forEachImpl(t, func(t *testing.T, newBind func() Bind) {
		_, _, port := openBind(t, newBind, 0)
		b := newBind()
		fns, _, err := b.Open(port)
		if err == nil {
			b.Close()
			t.Fatalf("second Open(%d) succeeded with %d sockets", port, len(fns))
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("second Open(%d) = %v, want EADDRINUSE", port, err)
		}
	})
}

func TestOpenTwice(t *testing.T) {
	forEachImpl(t, func(t *testing.T, newBind func() Bind) {
		b, _, _ := openBind(t, newBind, 0)
		if _, _, err := b.Open(0); err == nil {
			t.Fatal("Open on an open Bind succeeded")
		}
	})
}

func TestCloseUnblocksReceivers(t *testing.T) {
	forEachImpl(t, func(t *testing.T, newBind func() Bind) {
		b, fns, _ := openBind(t, newBind, 0)
		errs := make(chan error, len(fns))
		for _, fn := range fns {
			go func() {
				bs := b.BatchSize()
				bufs := make([][]byte, bs)
				for i := range bufs {
					bufs[i] = make([]byte, 1500)
				}
				_, err := fn(bufs, make([]int, bs), make([]Endpoint, bs))
				errs <- err
			}()
		}
		time.Sleep(50 * time.Millisecond) // let the receivers block
		if err := b.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for range fns {
			select {
			case err := <-errs:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("receive after Close = %v, want ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("receive still blocked after Close")
			}
		}
		ep, _ := b.ParseEndpoint("127.0.0.1:9")
		if err := b.Send([][]byte{{1}}, ep); !errors.Is(err, ErrClosed) {
			t.Errorf("Send after Close = %v, want ErrClosed", err)
		}
	})
}

func TestReopenAfterClose(t *testing.T) {
	forEachImpl(t, func(t *testing.T, newBind func() Bind) {
		b, _, port := openBind(t, newBind, 0)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		_, got, err := b.Open(port)
		if err != nil {
			t.Fatalf("reopen on port %d: %v", port, err)
		}
		if got != port {
			t.Errorf("reopened on %d, want %d", got, port)
		}
	})
}

func TestPortableSetMarkUnsupported(t *testing.T) {
	b := &portableBind{}
	if err := b.SetMark(0); err != nil {
		t.Errorf("SetMark(0) = %v, want nil", err)
	}
	if err := b.SetMark(1); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SetMark(1) = %v, want ErrUnsupported", err)
	}
}
