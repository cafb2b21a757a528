package netstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/testenv"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// peerNode is one warren engine on a netstack Device, on loopback UDP.
type peerNode struct {
	ns   *Device
	dev  *device.Device
	priv noise.PrivateKey
	port uint16
	v4   netip.Addr
	v6   netip.Addr
}

func newPeerNode(t testing.TB, i byte) *peerNode {
	t.Helper()
	priv, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n := &peerNode{
		priv: priv,
		v4:   netip.AddrFrom4([4]byte{10, 9, 0, i}),
		v6:   netip.AddrFrom16([16]byte{0xfd, 0x09, 15: i}),
	}
	n.ns, err = New(Options{Addresses: []netip.Addr{n.v4, n.v6}, MTU: 1420})
	if err != nil {
		t.Fatal(err)
	}
	var logger *device.Logger
	if os.Getenv("WARREN_TEST_LOG") != "" {
		logger = &device.Logger{
			Verbosef: func(f string, a ...any) { t.Logf("V: "+f, a...) },
			Errorf:   func(f string, a ...any) { t.Logf("E: "+f, a...) },
		}
	}
	n.dev, err = device.New(n.ns, bind.NewStd(), device.Options{Logger: logger})
	if err != nil {
		n.ns.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { n.dev.Close() })
	var port uint16
	if err := n.dev.Apply(&wgtypes.Config{PrivateKey: &n.priv, ListenPort: &port}); err != nil {
		t.Fatal(err)
	}
	if err := n.dev.Up(); err != nil {
		t.Fatal(err)
	}
	n.port = n.dev.State().ListenPort
	if n.port == 0 {
		t.Fatal("no listen port")
	}
	return n
}

// connect makes a and b peers of each other over 127.0.0.1.
func connect(t testing.TB, a, b *peerNode) {
	t.Helper()
	for _, p := range [][2]*peerNode{{a, b}, {b, a}} {
		ep := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), p[1].port)
		cfg := &wgtypes.Config{Peers: []wgtypes.PeerConfig{{
			PublicKey:  p[1].priv.PublicKey(),
			Endpoint:   &ep,
			AllowedIPs: []netip.Prefix{netip.PrefixFrom(p[1].v4, 32), netip.PrefixFrom(p[1].v6, 128)},
		}}}
		if err := p[0].dev.Apply(cfg); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewRejects(t *testing.T) {
	for name, opts := range map[string]Options{
		"no addresses": {},
		"unspecified":  {Addresses: []netip.Addr{netip.IPv4Unspecified()}},
		"tiny MTU":     {Addresses: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, MTU: 100},
	} {
		t.Run(name, func(t *testing.T) {
			if d, err := New(opts); err == nil {
				d.Close()
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestDeviceBasics(t *testing.T) {
	testenv.CheckGoroutines(t)
	d, err := New(Options{Addresses: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, MTU: 1280, Name: "wgx"})
	if err != nil {
		t.Fatal(err)
	}
	if mtu, _ := d.MTU(); mtu != 1280 {
		t.Errorf("MTU = %d", mtu)
	}
	if name, _ := d.Name(); name != "wgx" {
		t.Errorf("Name = %q", name)
	}
	if ev := <-d.Events(); ev != 1 { // tun.EventUp
		t.Errorf("first event = %v", ev)
	}
	done := make(chan error)
	go func() {
		bufs := [][]byte{make([]byte, 2000)}
		_, err := d.Read(bufs, make([]int, 1), 0)
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	d.Close()
	if err := <-done; !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read after Close: %v, want os.ErrClosed", err)
	}
	if _, err := d.Write([][]byte{{0x45}}, 0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: %v, want os.ErrClosed", err)
	}
	if _, ok := <-d.Events(); ok {
		t.Error("Events not closed")
	}
	d.Close() // twice is fine
}

// TestICMPEcho sends echo requests into the stack and expects replies.
func TestICMPEcho(t *testing.T) {
	testenv.CheckGoroutines(t)
	local4, local6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")
	d, err := New(Options{Addresses: []netip.Addr{local4, local6}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, tc := range []struct {
		name     string
		src, dst netip.Addr
		build    func(src, dst netip.Addr, payload []byte) []byte
		isReply  func(pkt []byte) bool
	}{
		{"v4", netip.MustParseAddr("10.0.0.2"), local4, echo4, func(p []byte) bool {
			ip := header.IPv4(p)
			return ip.Protocol() == uint8(header.ICMPv4ProtocolNumber) && header.ICMPv4(ip.Payload()).Type() == header.ICMPv4EchoReply
		}},
		{"v6", netip.MustParseAddr("fd00::2"), local6, echo6, func(p []byte) bool {
			ip := header.IPv6(p)
			return ip.TransportProtocol() == header.ICMPv6ProtocolNumber && header.ICMPv6(ip.Payload()).Type() == header.ICMPv6EchoReply
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := []byte("warren ping " + tc.name)
			if _, err := d.Write([][]byte{append(make([]byte, 16), tc.build(tc.src, tc.dst, payload)...)}, 16); err != nil {
				t.Fatal(err)
			}
			// The stack may first send other packets (an IPv6 neighbour
			// solicitation, say); look for the reply among the next few.
			bufs := [][]byte{make([]byte, 2000)}
			sizes := make([]int, 1)
			for range 5 {
				n, err := readTimeout(d, bufs, sizes, 2*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if n == 1 && tc.isReply(bufs[0][:sizes[0]]) {
					if !bytes.Contains(bufs[0][:sizes[0]], payload) {
						t.Error("reply lacks the payload")
					}
					return
				}
			}
			t.Fatal("no echo reply")
		})
	}
}

func readTimeout(d *Device, bufs [][]byte, sizes []int, timeout time.Duration) (int, error) {
	type result struct {
		n   int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		n, err := d.Read(bufs, sizes, 0)
		ch <- result{n, err}
	}()
	select {
	case r := <-ch:
		return r.n, r.err
	case <-time.After(timeout):
		d.Close() // unblocks the reader
		<-ch
		return 0, errors.New("read timed out")
	}
}

func echo4(src, dst netip.Addr, payload []byte) []byte {
	pkt := make([]byte, header.IPv4MinimumSize+header.ICMPv4MinimumSize+len(payload))
	ip := header.IPv4(pkt)
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(len(pkt)),
		TTL:         64,
		Protocol:    uint8(header.ICMPv4ProtocolNumber),
		SrcAddr:     tcpip.AddrFrom4(src.As4()),
		DstAddr:     tcpip.AddrFrom4(dst.As4()),
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	ic := header.ICMPv4(ip.Payload())
	ic.SetType(header.ICMPv4Echo)
	ic.SetIdent(7)
	ic.SetSequence(1)
	copy(ic.Payload(), payload)
	ic.SetChecksum(^checksum.Checksum(ic, 0))
	return pkt
}

func echo6(src, dst netip.Addr, payload []byte) []byte {
	pkt := make([]byte, header.IPv6MinimumSize+header.ICMPv6EchoMinimumSize+len(payload))
	ip := header.IPv6(pkt)
	ip.Encode(&header.IPv6Fields{
		PayloadLength:     uint16(len(pkt) - header.IPv6MinimumSize),
		TransportProtocol: header.ICMPv6ProtocolNumber,
		HopLimit:          64,
		SrcAddr:           tcpip.AddrFrom16(src.As16()),
		DstAddr:           tcpip.AddrFrom16(dst.As16()),
	})
	ic := header.ICMPv6(ip.Payload())
	ic.SetType(header.ICMPv6EchoRequest)
	ic.SetIdent(7)
	ic.SetSequence(1)
	copy(ic.Payload(), payload)
	ic.SetChecksum(header.ICMPv6Checksum(header.ICMPv6ChecksumParams{
		Header: ic, Src: ip.SourceAddress(), Dst: ip.DestinationAddress(),
	}))
	return pkt
}

// TestTunnelTCPAndUDP runs two warren engines on userspace stacks over
// loopback UDP and exchanges TCP and UDP over IPv4 and IPv6 through them.
func TestTunnelTCPAndUDP(t *testing.T) {
	testenv.CheckGoroutines(t)
	a, b := newPeerNode(t, 1), newPeerNode(t, 2)
	connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	for _, fam := range []string{"v4", "v6"} {
		t.Run("tcp "+fam, func(t *testing.T) {
			srv := netip.AddrPortFrom(b.v4, 8080)
			if fam == "v6" {
				srv = netip.AddrPortFrom(b.v6, 8080)
			}
			l, err := b.ns.ListenTCP(srv)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			// The server sends 1 MiB of random data and then its SHA-256
			// of what it received.
			data := make([]byte, 1<<20)
			rand.Read(data)
			go func() {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				c.Write(data)
				h := sha256.New()
				io.Copy(h, c)
				c.Write(h.Sum(nil))
			}()
			c, err := a.ns.DialTCP(ctx, srv)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			got := make([]byte, len(data))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("data corrupted")
			}
			up := []byte(strings.Repeat("upload ", 10000))
			if _, err := c.Write(up); err != nil {
				t.Fatal(err)
			}
			c.(interface{ CloseWrite() error }).CloseWrite()
			sum, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if want := sha256.Sum256(up); !bytes.Equal(sum, want[:]) {
				t.Fatal("upload hash mismatch")
			}
		})
		t.Run("udp "+fam, func(t *testing.T) {
			srv := netip.AddrPortFrom(b.v4, 5353)
			if fam == "v6" {
				srv = netip.AddrPortFrom(b.v6, 5353)
			}
			pc, err := b.ns.ListenUDP(srv)
			if err != nil {
				t.Fatal(err)
			}
			testenv.ServePackets(t, pc, testenv.EchoPackets("echo:"))
			c, err := a.ns.DialUDP(srv)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, 2000)
			for try := 0; ; try++ {
				c.Write([]byte("hello"))
				c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				n, err := c.Read(buf)
				if err == nil {
					if string(buf[:n]) != "echo:hello" {
						t.Fatalf("got %q", buf[:n])
					}
					break
				}
				if try == 10 {
					t.Fatal(err)
				}
			}
		})
	}
	if st := a.dev.State(); st.Peers[0].LastHandshakeTime.IsZero() || st.Peers[0].RxBytes == 0 {
		t.Errorf("no handshake or no traffic recorded: %+v", st.Peers[0])
	}
}

// TestDialUnroutable: a destination no peer's AllowedIPs cover fails
// within the context's deadline rather than hanging.
func TestDialUnroutable(t *testing.T) {
	testenv.CheckGoroutines(t)
	a := newPeerNode(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := a.ns.DialTCP(ctx, netip.MustParseAddrPort("10.9.0.99:80"))
	if err == nil {
		t.Fatal("dial succeeded")
	}
	var ne net.Error
	if !errors.As(err, &ne) {
		t.Logf("error %v (%T)", err, err)
	}
}

func TestRefusedText(t *testing.T) {
	if got := (&tcpip.ErrConnectionRefused{}).String(); got != refusedText {
		t.Fatalf("gVisor's refusal reads %q, want %q", got, refusedText)
	}
}

// TestDialRefused: a closed port on the peer is ECONNREFUSED.
func TestDialRefused(t *testing.T) {
	testenv.CheckGoroutines(t)
	a, b := newPeerNode(t, 1), newPeerNode(t, 2)
	connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := a.ns.DialTCP(ctx, netip.AddrPortFrom(b.v4, 9))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial closed port: %v, want ECONNREFUSED", err)
	}
}

// BenchmarkTunnelTCP measures one TCP stream between two engines on
// userspace stacks over loopback UDP.
func BenchmarkTunnelTCP(b *testing.B) {
	a, c := newPeerNode(b, 1), newPeerNode(b, 2)
	connect(b, a, c)
	l, err := c.ns.ListenTCP(netip.AddrPortFrom(c.v4, 9000))
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 1 << 20
	testenv.ServeConns(b, l, func(s net.Conn) {
		buf := make([]byte, chunk)
		for {
			if _, err := s.Write(buf); err != nil {
				return
			}
		}
	})
	conn, err := a.ns.DialTCP(context.Background(), netip.AddrPortFrom(c.v4, 9000))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 256<<10)
	b.SetBytes(chunk)
	b.ResetTimer()
	for range b.N {
		if _, err := io.ReadFull(conn, buf[:cap(buf)]); err != nil {
			b.Fatal(err)
		}
		for range chunk/(256<<10) - 1 {
			if _, err := io.ReadFull(conn, buf); err != nil {
				b.Fatal(err)
			}
		}
	}
}
