package wgref

import (
	"bytes"
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/tun/tuntest"

	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/testenv"
	"github.com/warren-vpn/warren/internal/tun"
)

var (
	outerA = netip.MustParseAddr("192.0.2.1")
	outerB = netip.MustParseAddr("192.0.2.2")
	innerA = netip.MustParseAddr("10.10.0.1")
	innerB = netip.MustParseAddr("10.10.0.2")
)

// pair configures a and b as each other's only peer, a listening on portA
// and b on portB, with b's endpoint known to a (so a initiates).
func pair(t *testing.T, a, b *Device, portA, portB uint16) {
	t.Helper()
	skA, pkA := GenerateKeys(t)
	skB, pkB := GenerateKeys(t)
	if PublicKey(t, skA) != pkA {
		t.Fatal("PublicKey disagrees with GenerateKeys")
	}
	psk, _ := GenerateKeys(t)
	a.Configure(t, Config{PrivateKey: skA, ListenPort: portA, Peers: []Peer{{
		PublicKey:    pkB,
		PresharedKey: &psk,
		Endpoint:     netip.AddrPortFrom(outerB, portB),
		AllowedIPs:   []netip.Prefix{netip.PrefixFrom(innerB, 32)},
	}}})
	b.Configure(t, Config{PrivateKey: skB, ListenPort: portB, Peers: []Peer{{
		PublicKey:           pkA,
		PresharedKey:        &psk,
		AllowedIPs:          []netip.Prefix{netip.PrefixFrom(innerA, 32), netip.MustParsePrefix("fd00::/64")},
		PersistentKeepalive: 25,
	}}})
	got := b.IpcGet(t)
	for _, want := range []string{"public_key=" + pkA.Hex(), "allowed_ip=fd00::/64", "persistent_keepalive_interval=25", "preshared_key=" + psk.Hex()} {
		if !strings.Contains(got, want+"\n") {
			t.Fatalf("b's configuration lacks %q:\n%s", want, got)
		}
	}
}

func expectPacket(t *testing.T, ch <-chan []byte, want []byte) {
	t.Helper()
	select {
	case got := <-ch:
		if !bytes.Equal(got, want) {
			t.Fatalf("got packet %x, want %x", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no packet came out of the tunnel")
	}
}

func TestReferencePingOverNetsim(t *testing.T) {
	testenv.CheckGoroutines(t)
	n := netsim.New(netsim.Options{Seed: 1})
	t.Cleanup(func() { n.Close() })
	a := NewDevice(t, n, outerA, Options{})
	b := NewDevice(t, n, outerB, Options{})
	pair(t, a, b, 51820, 51821)
	if got := a.AddrPort(); got != netip.AddrPortFrom(outerA, 51820) {
		t.Fatalf("a bound at %v", got)
	}

	ping := tuntest.Ping(innerB, innerA)
	a.TUN.Outbound <- ping
	expectPacket(t, b.TUN.Inbound, ping)

	// And back: b learned a's endpoint from the handshake.
	pong := tuntest.Ping(innerA, innerB)
	b.TUN.Outbound <- pong
	expectPacket(t, a.TUN.Inbound, pong)

	if ep := b.Get(t, "endpoint"); ep != netip.AddrPortFrom(outerA, 51820).String() {
		t.Errorf("b sees a at %q", ep)
	}
	if rx, _ := strconv.Atoi(a.Get(t, "rx_bytes")); rx == 0 {
		t.Errorf("a rx_bytes = 0 after receiving a packet")
	}
	if s := a.Bind.Sim.Stats(); s.Sent < 2 {
		t.Errorf("a's socket sent %d datagrams, want handshake and data", s.Sent)
	}
}

func TestReferenceRoamsBehindNAT(t *testing.T) {
	testenv.CheckGoroutines(t)
	n := netsim.New(netsim.Options{Seed: 2})
	t.Cleanup(func() { n.Close() })
	a := NewDevice(t, n, outerA, Options{})
	b := NewDevice(t, n, outerB, Options{})
	pair(t, a, b, 1000, 2000)

	nat1 := netip.MustParseAddrPort("203.0.113.7:40000")
	n.SetNAT(outerA, nat1)
	ping := tuntest.Ping(innerB, innerA)
	a.TUN.Outbound <- ping
	expectPacket(t, b.TUN.Inbound, ping)
	if ep := b.Get(t, "endpoint"); ep != nat1.String() {
		t.Fatalf("b sees a at %q, want NAT address %v", ep, nat1)
	}

	// The NAT rebinds; a's next packet makes b roam to the new address.
	nat2 := netip.MustParseAddrPort("203.0.113.8:50000")
	n.SetNAT(outerA, nat2)
	a.TUN.Outbound <- ping
	expectPacket(t, b.TUN.Inbound, ping)
	if ep := b.Get(t, "endpoint"); ep != nat2.String() {
		t.Fatalf("after rebinding b sees a at %q, want %v", ep, nat2)
	}
	pong := tuntest.Ping(innerA, innerB)
	b.TUN.Outbound <- pong
	expectPacket(t, a.TUN.Inbound, pong)
}

func TestReferenceOnMemoryTUN(t *testing.T) {
	testenv.CheckGoroutines(t)
	n := netsim.New(netsim.Options{Seed: 3})
	t.Cleanup(func() { n.Close() })
	ma, mb := tun.NewMemory("wga", 1420), tun.NewMemory("wgb", 1420)
	a := NewDevice(t, n, outerA, Options{Memory: ma})
	b := NewDevice(t, n, outerB, Options{Memory: mb})
	pair(t, a, b, 0, 7777)
	if a.AddrPort().Port() == 0 {
		t.Fatal("listen_port=0 did not allocate a port")
	}
	ping := tuntest.Ping(innerB, innerA)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ma.InjectContext(ctx, ping); err != nil {
		t.Fatal(err)
	}
	got, err := mb.ReadOutbound(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, ping) {
		t.Fatalf("got %x, want %x", got, ping)
	}
	// Up/down events reach the reference through the adapter: down closes
	// its socket, up opens it again at the same port.
	waitBound := func(want netip.AddrPort) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for b.AddrPort() != want {
			if time.Now().After(deadline) {
				t.Fatalf("b bound at %v, want %v", b.AddrPort(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if err := mb.SetUp(false); err != nil {
		t.Fatal(err)
	}
	waitBound(netip.AddrPort{})
	if err := mb.SetUp(true); err != nil {
		t.Fatal(err)
	}
	waitBound(netip.AddrPortFrom(outerB, 7777))
}

func TestBindAdapter(t *testing.T) {
	testenv.CheckGoroutines(t)
	n := netsim.New(netsim.Options{})
	defer n.Close()
	a, b := NewBind(n, outerA), NewBind(n, outerB)
	_, _, err := a.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	fns, pb, err := b.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ep, err := a.ParseEndpoint(netip.AddrPortFrom(outerB, pb).String())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Send([][]byte{[]byte("x")}, ep); err != nil {
		t.Fatal(err)
	}
	bufs := [][]byte{make([]byte, 10)}
	sizes := make([]int, 1)
	eps := make([]conn.Endpoint, 1)
	k, err := fns[0](bufs, sizes, eps)
	if err != nil || k != 1 || string(bufs[0][:sizes[0]]) != "x" {
		t.Fatalf("receive = %d, %v, %q", k, err, bufs[0][:sizes[0]])
	}
	if got := eps[0].DstToString(); got != a.Sim.LocalAddrPort().String() {
		t.Fatalf("sender %q, want %v", got, a.Sim.LocalAddrPort())
	}
	if eps[0].SrcIP() != outerB {
		t.Fatalf("SrcIP %v", eps[0].SrcIP())
	}
	if len(eps[0].DstToBytes()) == 0 {
		t.Fatal("empty DstToBytes")
	}
}
