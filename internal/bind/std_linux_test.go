package bind

import (
	"net"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netnstest"
	"github.com/warren-vpn/warren/internal/testenv"

	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v\n%s", args, err, out)
	}
}

// newNetns creates a network namespace with lo up, deleted when the test ends.
func newNetns(t *testing.T) string {
	t.Helper()
	requireRoot(t)
	return netnstest.New(t, "wrn-bind-")
}

// inNetns runs fn on an OS thread switched into the namespace.
func inNetns(t *testing.T, ns string, fn func()) { t.Helper(); netnstest.Run(t, ns, fn) }

func TestStickySource(t *testing.T) {
	tests := []struct {
		name       string
		x, y, peer netip.Addr
		plen       string
	}{
		{"ipv4", netip.MustParseAddr("10.77.0.1"), netip.MustParseAddr("10.77.0.2"), netip.MustParseAddr("10.77.0.9"), "/32"},
		{"ipv6", netip.MustParseAddr("fd77::1"), netip.MustParseAddr("fd77::2"), netip.MustParseAddr("fd77::9"), "/128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := newNetns(t)
			for _, a := range []netip.Addr{tt.x, tt.y, tt.peer} {
				ip(t, "-n", ns, "addr", "add", a.String()+tt.plen, "dev", "lo", "nodad")
			}
			var (
				b    Bind
				fns  []ReceiveFunc
				port uint16
				peer *net.UDPConn
				err  error
				perr error
			)
			inNetns(t, ns, func() {
				b = NewStd()
				fns, port, err = b.Open(0)
				peer, perr = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(tt.peer, 0)))
			})
			if err != nil {
				t.Fatalf("Open in netns: %v", err)
			}
			t.Cleanup(func() { b.Close() })
			if perr != nil {
				t.Fatalf("peer socket: %v", perr)
			}
			t.Cleanup(func() { peer.Close() })
			fn := fnFor(t, fns, tt.x)

			// Routing picks one source for the reply whichever address the
			// peer wrote to; sticky sources answer from each in turn.
			for _, local := range []netip.Addr{tt.y, tt.x} {
				ch := receiveN(b, fn, 1)
				if _, err := peer.WriteToUDPAddrPort([]byte("hello"), netip.AddrPortFrom(local, port)); err != nil {
					t.Fatal(err)
				}
				r := waitReceived(t, ch)
				ep := r.eps[0]
				if got := ep.SrcAddr(); got != local {
					t.Fatalf("datagram to %v: sticky source %v", local, got)
				}
				if err := b.Send([][]byte{[]byte("reply")}, ep); err != nil {
					t.Fatalf("Send: %v", err)
				}
				if from := readFrom(t, peer); from.Addr() != local {
					t.Fatalf("reply to datagram sent to %v came from %v", local, from)
				}
			}

			// Now Y disappears: the send falls back to a routed source.
			ch := receiveN(b, fn, 1)
			if _, err := peer.WriteToUDPAddrPort([]byte("hello"), netip.AddrPortFrom(tt.y, port)); err != nil {
				t.Fatal(err)
			}
			ep := waitReceived(t, ch).eps[0]
			ip(t, "-n", ns, "addr", "del", tt.y.String()+tt.plen, "dev", "lo")
			if err := b.Send([][]byte{[]byte("after delete")}, ep); err != nil {
				t.Fatalf("Send after source address deleted: %v", err)
			}
			if from := readFrom(t, peer); from.Addr() == tt.y || from.Port() != port {
				t.Fatalf("reply after delete came from %v", from)
			}
			if ep.SrcAddr().IsValid() {
				t.Errorf("sticky source still %v after fallback", ep.SrcAddr())
			}
		})
	}
}

func readFrom(t *testing.T, c *net.UDPConn) netip.AddrPort {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	_, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("peer read: %v", err)
	}
	return from
}

func socketMarks(t *testing.T, b Bind) []int {
	t.Helper()
	lb := b.(*linuxBind)
	var marks []int
	for _, s := range []*linuxSocket{lb.v4, lb.v6} {
		if s == nil {
			continue
		}
		var mark int
		var err error
		s.rc.Control(func(fd uintptr) { mark, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK) })
		if err != nil {
			t.Fatalf("getsockopt SO_MARK: %v", err)
		}
		marks = append(marks, mark)
	}
	return marks
}

func TestSetMark(t *testing.T) {
	requireRoot(t)
	b, fns, _ := openStd(t, 0)
	check := func(want int) {
		t.Helper()
		marks := socketMarks(t, b)
		if len(marks) != len(fns) {
			t.Fatalf("%d marks for %d sockets", len(marks), len(fns))
		}
		for _, m := range marks {
			if m != want {
				t.Fatalf("SO_MARK = %#x, want %#x", m, want)
			}
		}
	}
	if err := b.SetMark(0x51820); err != nil {
		t.Fatalf("SetMark: %v", err)
	}
	check(0x51820)

	// Sockets opened later carry the mark too.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Open(0); err != nil {
		t.Fatal(err)
	}
	check(0x51820)

	if err := b.SetMark(0); err != nil {
		t.Fatalf("SetMark(0): %v", err)
	}
	check(0)
}

func TestParsePktinfoIgnoresGarbage(t *testing.T) {
	for _, ctrl := range [][]byte{nil, {1, 2, 3}, make([]byte, 64), {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if a, _ := parsePktinfo(ctrl); a.IsValid() {
			t.Errorf("parsePktinfo(%x) = %v", ctrl, a)
		}
	}
}

func TestReceivedEndpointReuse(t *testing.T) {
	mb := newMmsgBatch().(*mmsgBatch)
	src := netip.MustParseAddr("10.0.0.1")
	ctrl := make([]byte, controlSize)
	ctrl = ctrl[:putPktinfo(ctrl, src, 0)]
	var sa unix.RawSockaddrInet6
	if _, err := putSockaddr(&sa, netip.MustParseAddrPort("192.0.2.7:51820")); err != nil {
		t.Fatal(err)
	}

	ep1 := mb.endpoint(&sa, ctrl)
	if got := ep1.DstAddrPort(); got != netip.MustParseAddrPort("192.0.2.7:51820") {
		t.Fatalf("DstAddrPort = %v", got)
	}
	if got := ep1.SrcAddr(); got != src {
		t.Fatalf("SrcAddr = %v, want %v", got, src)
	}
	if ep2 := mb.endpoint(&sa, ctrl); ep2 != ep1 {
		t.Error("same path: endpoint not reused")
	}

	// Once the engine cleared the source, a new datagram must not hand out
	// that (changed) endpoint again.
	ep1.ClearSrc()
	ep3 := mb.endpoint(&sa, ctrl)
	if ep3 == ep1 || ep3.SrcAddr() != src || ep1.SrcAddr().IsValid() {
		t.Errorf("after ClearSrc: reused %v, new src %v, old src %v", ep3 == ep1, ep3.SrcAddr(), ep1.SrcAddr())
	}

	if _, err := putSockaddr(&sa, netip.MustParseAddrPort("192.0.2.7:51821")); err != nil {
		t.Fatal(err)
	}
	if ep4 := mb.endpoint(&sa, ctrl); ep4 == ep3 || ep4.DstAddrPort().Port() != 51821 {
		t.Error("different port: endpoint reused")
	}
}

// TestStickySourceLinkLocal checks that an IPv6 link-local source is kept
// with its interface: the reply must leave through the interface the
// datagram came in on, with the same link-local address.
func TestStickySourceLinkLocal(t *testing.T) {
	ns := newNetns(t)
	ip(t, "-n", ns, "link", "add", "wrnv0", "type", "veth", "peer", "name", "wrnv1")
	ip(t, "-n", ns, "addr", "add", "fe80::1/64", "dev", "wrnv0", "nodad")
	ip(t, "-n", ns, "addr", "add", "fe80::2/64", "dev", "wrnv1", "nodad")
	// A second link-local address on wrnv0 that routing could prefer.
	ip(t, "-n", ns, "addr", "add", "fe80::3/64", "dev", "wrnv0", "nodad")
	ip(t, "-n", ns, "link", "set", "wrnv0", "up")
	ip(t, "-n", ns, "link", "set", "wrnv1", "up")

	var (
		b         Bind
		fns       []ReceiveFunc
		port      uint16
		peer      *net.UDPConn
		err, perr error
		idx0      int
	)
	inNetns(t, ns, func() {
		b = NewStd()
		fns, port, err = b.Open(0)
		peer, perr = net.ListenUDP("udp6", &net.UDPAddr{IP: net.ParseIP("fe80::2"), Zone: "wrnv1"})
		if ifi, e := net.InterfaceByName("wrnv0"); e == nil {
			idx0 = ifi.Index
		}
	})
	if err != nil {
		t.Fatalf("Open in netns: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	if perr != nil {
		t.Fatalf("peer socket: %v", perr)
	}
	t.Cleanup(func() { peer.Close() })
	fn := fnFor(t, fns, netip.IPv6Unspecified())

	for _, local := range []string{"fe80::3", "fe80::1"} {
		ch := receiveN(b, fn, 1)
		to := &net.UDPAddr{IP: net.ParseIP(local), Port: int(port), Zone: "wrnv1"}
		if _, err := peer.WriteToUDP([]byte("hello"), to); err != nil {
			t.Fatal(err)
		}
		ep := waitReceived(t, ch).eps[0]
		if got := ep.SrcAddr(); got != netip.MustParseAddr(local) {
			t.Fatalf("sticky source %v, want %v", got, local)
		}
		if _, ifindex := ep.(*stdEndpoint).source(); int(ifindex) != idx0 {
			t.Fatalf("sticky interface %d, want wrnv0 (%d)", ifindex, idx0)
		}
		if z := ep.DstAddrPort().Addr().Zone(); z == "" {
			t.Fatalf("link-local sender %v without zone", ep.DstAddrPort())
		}
		if err := b.Send([][]byte{[]byte("reply")}, ep); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if from := readFrom(t, peer); from.Addr().WithZone("") != netip.MustParseAddr(local) {
			t.Fatalf("reply to %v came from %v", local, from)
		}
	}
}

func FuzzParsePktinfo(f *testing.F) {
	ctrl := make([]byte, controlSize)
	f.Add(ctrl[:putPktinfo(ctrl, netip.MustParseAddr("10.0.0.1"), 0)])
	ctrl = make([]byte, controlSize)
	f.Add(ctrl[:putPktinfo(ctrl, netip.MustParseAddr("fe80::1"), 3)])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ctrl := make([]byte, len(b)) // aligned, as the kernel's buffer is
		copy(ctrl, b)
		a, _ := parsePktinfo(ctrl)
		if a.IsValid() && !a.Is4() && !a.Is6() {
			t.Fatalf("parsePktinfo = %v", a)
		}
	})
}

// otherEndpoint is an Endpoint from some other Bind implementation.
type otherEndpoint struct{ dst netip.AddrPort }

func (e otherEndpoint) DstAddrPort() netip.AddrPort { return e.dst }
func (e otherEndpoint) SrcAddr() netip.Addr         { return netip.Addr{} }
func (e otherEndpoint) ClearSrc()                   {}
func (e otherEndpoint) String() string              { return e.dst.String() }

func TestSendToForeignEndpoint(t *testing.T) {
	a, _, _ := openStd(t, 0)
	b, fns, port := openStd(t, 0)
	ch := receiveN(b, fns[0], 1)
	ep := otherEndpoint{netip.AddrPortFrom(netip.MustParseAddr("::ffff:127.0.0.1"), port)}
	if err := a.Send([][]byte{[]byte("x")}, ep); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r := waitReceived(t, ch); string(r.bufs[0]) != "x" {
		t.Errorf("got %q", r.bufs[0])
	}
}

func TestSocketBuffers(t *testing.T) {
	requireRoot(t) // beyond net.core.rmem_max needs CAP_NET_ADMIN
	b, _, _ := openStd(t, 0)
	lb := b.(*linuxBind)
	for _, s := range []*linuxSocket{lb.v4, lb.v6} {
		if s == nil {
			continue
		}
		for _, opt := range []int{unix.SO_RCVBUF, unix.SO_SNDBUF} {
			var v int
			var err error
			s.rc.Control(func(fd uintptr) { v, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt) })
			if err != nil {
				t.Fatal(err)
			}
			if v < socketBufferSize { // the kernel reports double what was set
				t.Errorf("%v: option %d = %d, want >= %d", s.conn.LocalAddr(), opt, v, socketBufferSize)
			}
		}
	}
}
