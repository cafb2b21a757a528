package proxy

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/testenv"
)

// udpRecorder is a UDP echo server on the reference's stack that also
// records every payload it receives.
type udpRecorder struct {
	addr netip.AddrPort
	mu   sync.Mutex
	got  []string
}

func (r *udpRecorder) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func recordUDP(t *testing.T, env *testEnv, port uint16) *udpRecorder {
	t.Helper()
	r := &udpRecorder{addr: netip.AddrPortFrom(refV4, port)}
	pc, err := env.ref.net.ListenUDPAddrPort(r.addr)
	if err != nil {
		t.Fatal(err)
	}
	echo := testenv.EchoPackets("echo:")
	testenv.ServePackets(t, pc, func(p []byte, from net.Addr) []byte {
		r.mu.Lock()
		r.got = append(r.got, string(p))
		r.mu.Unlock()
		return echo(p, from)
	})
	return r
}

// associateUDP opens a UDP association announcing src and returns the
// control connection and the relay's address.
func associateUDP(t *testing.T, proxyAddr string, src netip.AddrPort) (net.Conn, netip.AddrPort) {
	t.Helper()
	req := appendAddr([]byte{5, cmdUDPAssociate, 0}, src)
	ctrl, rep := socksHandshake(t, proxyAddr, req)
	if rep[1] != repSucceeded {
		t.Fatalf("UDP ASSOCIATE reply %d", rep[1])
	}
	return ctrl, netip.AddrPortFrom(netip.AddrFrom4([4]byte(rep[4:8])), binary.BigEndian.Uint16(rep[8:10]))
}

// udpFrom opens a UDP socket on local (port 0 for any) connected to relay.
func udpFrom(t *testing.T, local netip.AddrPort, relay netip.AddrPort) *net.UDPConn {
	t.Helper()
	u, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(local), net.UDPAddrFromAddrPort(relay))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

// socksDatagram wraps payload for dst in a SOCKS5 UDP request header.
func socksDatagram(dst netip.AddrPort, payload string) []byte {
	return append(appendAddr([]byte{0, 0, 0}, dst), payload...)
}

// exchange sends payload to dst through the relay on u until an echo comes
// back, and fails the test if none does.
func exchange(t *testing.T, u *net.UDPConn, dst netip.AddrPort, payload string) {
	t.Helper()
	buf := make([]byte, 2000)
	for try := 0; ; try++ {
		u.Write(socksDatagram(dst, payload))
		u.SetReadDeadline(time.Now().Add(time.Second))
		n, err := u.Read(buf)
		if err == nil {
			_, got, err := parseUDPDatagram(buf[:n])
			if err != nil || string(got) != "echo:"+payload {
				t.Fatalf("reply %q, %v", buf[:n], err)
			}
			return
		}
		if try == 8 {
			t.Fatalf("%s: no echo through the association: %v", payload, err)
		}
	}
}

// TestSOCKS5UDPAssociationBinding: an association relays datagrams from
// its one source only — the announced address and port, or the first
// port seen from the control connection's address — and replies go
// there; a second sender on the same machine is dropped, and nothing is
// relayed once the control connection closes.
func TestSOCKS5UDPAssociationBinding(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	rec := recordUDP(t, env, 9)
	addr := startSOCKS5(t, &SOCKS5Server{Net: env.tun, Logf: t.Logf})
	lo1 := netip.MustParseAddr("127.0.0.1")
	lo2 := netip.MustParseAddr("127.0.0.2")

	// The intruder sends first, then the client; when the client's echo is
	// back, the intruder's datagram has been read (same socket, earlier)
	// and must not have reached the destination nor drawn a reply.
	intrude := func(t *testing.T, relay netip.AddrPort, client, intruder *net.UDPConn, name string) {
		t.Helper()
		intruder.Write(socksDatagram(rec.addr, "intruder "+name))
		exchange(t, client, rec.addr, "client "+name)
		intruder.Write(socksDatagram(rec.addr, "intruder again "+name))
		exchange(t, client, rec.addr, "client again "+name)
		for _, p := range rec.received() {
			if p == "intruder "+name || p == "intruder again "+name {
				t.Errorf("the intruder's datagram %q reached the destination", p)
			}
		}
		intruder.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		b := make([]byte, 2000)
		if n, err := intruder.Read(b); err == nil {
			t.Errorf("the intruder got a reply: %q", b[:n])
		}
	}

	t.Run("first source seen", func(t *testing.T) {
		_, relay := associateUDP(t, addr, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
		client := udpFrom(t, netip.AddrPortFrom(lo1, 0), relay)
		exchange(t, client, rec.addr, "first")
		intrude(t, relay, client, udpFrom(t, netip.AddrPortFrom(lo1, 0), relay), "same address")
		intrude(t, relay, client, udpFrom(t, netip.AddrPortFrom(lo2, 0), relay), "other address")
	})
	t.Run("announced port", func(t *testing.T) {
		client0 := udpFrom(t, netip.AddrPortFrom(lo1, 0), netip.MustParseAddrPort("127.0.0.1:9"))
		port := client0.LocalAddr().(*net.UDPAddr).AddrPort().Port()
		client0.Close()
		_, relay := associateUDP(t, addr, netip.AddrPortFrom(netip.IPv4Unspecified(), port))
		intruder := udpFrom(t, netip.AddrPortFrom(lo1, 0), relay)
		client := udpFrom(t, netip.AddrPortFrom(lo1, port), relay)
		// The intruder is first, yet the association is not its.
		intrude(t, relay, client, intruder, "announced port")
	})
	t.Run("announced address and port", func(t *testing.T) {
		client0 := udpFrom(t, netip.AddrPortFrom(lo2, 0), netip.MustParseAddrPort("127.0.0.1:9"))
		src := client0.LocalAddr().(*net.UDPAddr).AddrPort()
		client0.Close()
		// The control connection comes from 127.0.0.1; the client says its
		// datagrams come from 127.0.0.2.
		_, relay := associateUDP(t, addr, src)
		intruder := udpFrom(t, netip.AddrPortFrom(lo1, src.Port()+1), relay)
		client := udpFrom(t, src, relay)
		intrude(t, relay, client, intruder, "announced address")
	})
	t.Run("ends with the control connection", func(t *testing.T) {
		ctrl, relay := associateUDP(t, addr, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
		client := udpFrom(t, netip.AddrPortFrom(lo1, 0), relay)
		exchange(t, client, rec.addr, "before close")
		ctrl.Close()
		// The relay's socket closes: the next datagrams draw ICMP port
		// unreachable, which a connected UDP socket reports as refused.
		deadline := time.Now().Add(10 * time.Second)
		for {
			client.Write(socksDatagram(rec.addr, "after close"))
			client.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			_, err := client.Read(make([]byte, 2000))
			if errors.Is(err, syscall.ECONNREFUSED) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("association still open after its control connection closed: %v", err)
			}
		}
	})
}

func TestAssociationSource(t *testing.T) {
	control := netip.MustParseAddr("192.0.2.7")
	for _, tc := range []struct {
		announced socksAddr
		want      netip.AddrPort
	}{
		{socksAddr{IP: netip.IPv4Unspecified()}, netip.MustParseAddrPort("192.0.2.7:0")},
		{socksAddr{IP: netip.IPv6Unspecified(), Port: 5000}, netip.MustParseAddrPort("192.0.2.7:5000")},
		{socksAddr{IP: netip.MustParseAddr("198.51.100.1"), Port: 5000}, netip.MustParseAddrPort("198.51.100.1:5000")},
		{socksAddr{IP: netip.MustParseAddr("198.51.100.1")}, netip.MustParseAddrPort("198.51.100.1:0")},
		{socksAddr{Name: "client.example", Port: 7}, netip.MustParseAddrPort("192.0.2.7:7")},
		{socksAddr{IP: netip.MustParseAddr("::ffff:198.51.100.1"), Port: 1}, netip.MustParseAddrPort("198.51.100.1:1")},
	} {
		if got := associationSource(control, tc.announced); got != tc.want {
			t.Errorf("associationSource(%v, %v) = %v, want %v", control, tc.announced, got, tc.want)
		}
	}
}
