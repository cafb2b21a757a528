package device

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/wgtypes"
	"github.com/warren-vpn/warren/internal/wire"
)

func numbered(src, dst netip.Addr, i int, size int) []byte {
	payload := make([]byte, size)
	binary.BigEndian.PutUint32(payload, uint32(i))
	for j := 4; j < size; j++ {
		payload[j] = byte(i + j)
	}
	if src.Is4() {
		return ipv4(src, dst, payload)
	}
	return ipv6(src, dst, payload)
}

// TestLossyNetwork: over loss, duplication and reordering every packet
// that arrives is intact and none arrives twice (the replay window rejects
// the network's duplicates); retransmitting at the test level gets all
// through.
func TestLossyNetwork(t *testing.T) {
	n, a, b := newPair(t, netsim.Options{Seed: 7}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("handshake first")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("handshake first")))
	n.SetLoss(0.1)
	n.SetDuplicate(0.2)
	n.SetReorder(0.2)

	const count = 400
	sent := make(map[string]int)
	for i := range count {
		var p []byte
		if i%2 == 0 {
			p = numbered(a.v4, b.v4, i, 100+i)
		} else {
			p = numbered(a.v6, b.v6, i, 100+i)
		}
		sent[string(p)] = i
		if err := a.tun.Inject(p); err != nil {
			t.Fatal(err)
		}
	}
	got := make(map[int]bool)
	for {
		p, ok := recv(t, b, 300*time.Millisecond)
		if !ok {
			break
		}
		i, known := sent[string(p)]
		if !known {
			if b.seen[string(p)] {
				continue // a late copy of the warm-up packet, re-sent while the handshake ran
			}
			t.Fatalf("corrupted packet: %x", p)
		}
		if got[i] {
			t.Fatalf("packet %d delivered twice", i)
		}
		got[i] = true
	}
	if len(got) < count*7/10 {
		t.Fatalf("only %d of %d packets arrived", len(got), count)
	}
	stats := n.Stats()
	if stats.Duplicated == 0 || stats.Reordered == 0 || stats.Lost == 0 {
		t.Fatalf("network did not misbehave: %+v", stats)
	}
	// Retransmit what was lost until everything is through.
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < count && time.Now().Before(deadline) {
		for p, i := range sent {
			if !got[i] {
				if err := a.tun.Inject([]byte(p)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for {
			p, ok := recv(t, b, 200*time.Millisecond)
			if !ok {
				break
			}
			i, known := sent[string(p)]
			if !known {
				if b.seen[string(p)] {
					continue
				}
				t.Fatalf("corrupted packet: %x", p)
			}
			got[i] = true
		}
	}
	if len(got) != count {
		t.Fatalf("%d of %d packets delivered", len(got), count)
	}
	t.Logf("network: %+v", stats)
}

func TestRoaming(t *testing.T) {
	n, a, b := newPair(t, netsim.Options{}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("hello")))

	// b moves: a learns the new address from b's next packet.
	moved := netip.MustParseAddr("198.51.100.7")
	if err := b.bind.Move(moved); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("from the new place")))
	if ep := a.peer(t, b.pub).getEndpoint().DstAddrPort(); ep.Addr() != moved {
		t.Fatalf("a still sends to %v", ep)
	}
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("found you")))

	// b goes behind a NAT that then rebinds to a new public port.
	pub1 := netip.MustParseAddrPort("203.0.113.1:40000")
	n.SetNAT(moved, pub1)
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("natted")))
	if ep := a.peer(t, b.pub).getEndpoint().DstAddrPort(); ep != pub1 {
		t.Fatalf("a sends to %v, want %v", ep, pub1)
	}
	pub2 := netip.MustParseAddrPort("203.0.113.2:50000")
	n.SetNAT(moved, pub2)
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("rebound")))
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("still there")))
	if ep := a.peer(t, b.pub).getEndpoint().DstAddrPort(); ep != pub2 {
		t.Fatalf("a sends to %v, want %v", ep, pub2)
	}
	if s := a.d.State(); s.Peers[0].Endpoint != pub2 {
		t.Fatalf("State endpoint %v", s.Peers[0].Endpoint)
	}
}

func TestSpoofedInnerSourceDropped(t *testing.T) {
	_, a, b := newPair(t, netsim.Options{}, nil)
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("hello")))
	spoofed := netip.MustParseAddr("10.0.0.99")
	for range 5 {
		if err := b.tun.Inject(ipv4(spoofed, a.v4, []byte("spoofed"))); err != nil {
			t.Fatal(err)
		}
		if err := b.tun.Inject(ipv6(netip.MustParseAddr("fd00::99"), a.v6, []byte("spoofed"))); err != nil {
			t.Fatal(err)
		}
	}
	legit := ipv4(b.v4, a.v4, []byte("legit"))
	if err := b.tun.Inject(legit); err != nil {
		t.Fatal(err)
	}
	got, ok := recv(t, a, 5*time.Second)
	if !ok || !bytes.Equal(got, legit) {
		t.Fatalf("got %x, want only the legitimate packet", got)
	}
	if p, ok := recv(t, a, 100*time.Millisecond); ok {
		t.Fatalf("spoofed packet delivered: %x", p)
	}
}

func TestMostSpecificAllowedIPWins(t *testing.T) {
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	a, b, c := newNode(t, n, 1, nil), newNode(t, n, 2, nil), newNode(t, n, 3, nil)
	pb, pc := peerOf(b, 0), peerOf(c, 0)
	pb.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}
	pc.AllowedIPs = []netip.Prefix{netip.PrefixFrom(c.v4, 32)}
	if err := a.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{pb, pc}}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*node{b, c} {
		if err := x.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{peerOf(a, 0)}}); err != nil {
			t.Fatal(err)
		}
	}
	expectPacket(t, a, c, ipv4(a.v4, c.v4, []byte("to c, the /32")))
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("to b, the /24")))
	expectPacket(t, a, b, ipv4(a.v4, netip.MustParseAddr("10.0.0.77"), []byte("to b, the /24")))
	// The /32 moves to b: traffic for c's address now goes to b.
	move := wgtypes.PeerConfig{PublicKey: b.pub, AllowedIPs: []netip.Prefix{netip.PrefixFrom(c.v4, 32)}}
	if err := a.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{move}}); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, a, b, ipv4(a.v4, c.v4, []byte("c's address, now b's")))
	for _, p := range a.d.State().Peers {
		if p.PublicKey == c.pub && len(p.AllowedIPs) != 0 {
			t.Errorf("c kept %v", p.AllowedIPs)
		}
	}
}

// TestMTUChange: after the TUN's MTU grows, jumbo packets pass both ways
// in buffers of the small class, which grew with it.
func TestMTUChange(t *testing.T) {
	_, a, b := newPair(t, netsim.Options{}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("small first")))
	for _, nd := range []*node{a, b} {
		if err := nd.tun.SetMTU(9000); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "MTU update", func() bool { return nd.d.mtu.Load() == 9000 })
	}
	if got := a.d.pools.smallSize.Load(); got < 9000+Headroom+32 {
		t.Fatalf("small buffers of %d bytes after MTU 9000", got)
	}
	expectPacket(t, a, b, ipv4(a.v4, b.v4, make([]byte, 8900)))
	expectPacket(t, b, a, ipv6(b.v6, a.v6, make([]byte, 8900)))
}

// TestReplayedInitiationIgnored: an initiation captured on the wire and
// replayed (from anywhere) neither answers, nor moves the peer, nor
// disturbs its sessions: its timestamp is not newer than the last one.
func TestReplayedInitiationIgnored(t *testing.T) {
	n, a, b := newPair(t, netsim.Options{}, nil)
	var mu sync.Mutex
	var captured []byte
	n.SetFilter(func(src, dst netip.AddrPort, data []byte) bool {
		if len(data) > 0 && data[0] == wire.TypeInitiation {
			mu.Lock()
			captured = append([]byte(nil), data...)
			mu.Unlock()
		}
		return true
	})
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("hello")))
	pb := b.peer(t, a.pub)
	prev, cur, next := pb.sessions()
	tp := installTap(n)

	attacker := n.NewBind(netip.MustParseAddr("192.0.2.66"))
	if _, _, err := attacker.Open(0); err != nil {
		t.Fatal(err)
	}
	defer attacker.Close()
	mu.Lock()
	replay := captured
	mu.Unlock()
	time.Sleep(50 * time.Millisecond) // past the initiation flood guard
	for range 3 {
		if err := attacker.Send([][]byte{replay}, netsim.NewEndpoint(netip.AddrPortFrom(b.addr, b.port))); err != nil {
			t.Fatal(err)
		}
	}
	settle()
	if c := tp.count(b.addr, wire.TypeResponse); c != 0 {
		t.Errorf("b answered a replayed initiation %d times", c)
	}
	if p2, c2, n2 := pb.sessions(); p2 != prev || c2 != cur || n2 != next {
		t.Error("a replayed initiation changed b's sessions")
	}
	if ep := pb.getEndpoint().DstAddrPort(); ep.Addr() != a.addr {
		t.Errorf("a replayed initiation moved the peer to %v", ep)
	}
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("unharmed")))
}

// TestInnerSourceOfAnotherPeerDropped: the AllowedIPs source check asks
// whether the inner source routes back to the peer the packet came from,
// not merely to some peer: c, a peer of a, sends with b's tunnel address
// as its source, and a drops it, while c's own address still gets
// through.
func TestInnerSourceOfAnotherPeerDropped(t *testing.T) {
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	a, b, c := newNode(t, n, 1, nil), newNode(t, n, 2, nil), newNode(t, n, 3, nil)
	if err := a.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{peerOf(b, 0), peerOf(c, 0)}}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*node{b, c} {
		if err := x.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{peerOf(a, 0)}}); err != nil {
			t.Fatal(err)
		}
	}
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("b, from b")))
	expectPacket(t, c, a, ipv4(c.v4, a.v4, []byte("c, from c")))
	for range 5 {
		if err := c.tun.Inject(ipv4(b.v4, a.v4, []byte("c, as b"))); err != nil {
			t.Fatal(err)
		}
		if err := c.tun.Inject(ipv6(b.v6, a.v6, []byte("c, as b"))); err != nil {
			t.Fatal(err)
		}
	}
	legit := ipv4(c.v4, a.v4, []byte("c, from c again"))
	if err := c.tun.Inject(legit); err != nil {
		t.Fatal(err)
	}
	got, ok := recv(t, a, 5*time.Second)
	if !ok || !bytes.Equal(got, legit) {
		t.Fatalf("got %x, want only c's packet from its own address", got)
	}
	if p, ok := recv(t, a, 100*time.Millisecond); ok {
		t.Fatalf("a packet from c with b's source was delivered: %x", p)
	}
}

// TestReplayFromNewAddressKeepsEndpoint: a transport packet captured on
// the wire and replayed from another address is authentic but not fresh;
// the replay window drops it before it can move the peer's endpoint
// (roaming follows only packets that pass it).
func TestReplayFromNewAddressKeepsEndpoint(t *testing.T) {
	n, a, b := newPair(t, netsim.Options{}, nil)
	var mu sync.Mutex
	var captured []byte
	n.SetFilter(func(src, dst netip.AddrPort, data []byte) bool {
		if src.Addr() == b.addr && len(data) > wire.MinTransportSize && data[0] == wire.TypeTransport {
			mu.Lock()
			captured = append(captured[:0], data...)
			mu.Unlock()
		}
		return true
	})
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	pkt := ipv4(b.v4, a.v4, []byte("worth replaying"))
	expectPacket(t, b, a, pkt)
	n.SetFilter(nil)
	mu.Lock()
	replay := append([]byte(nil), captured...)
	mu.Unlock()
	pa := a.peer(t, b.pub)
	if ep := pa.getEndpoint().DstAddrPort(); ep != netip.AddrPortFrom(b.addr, b.port) {
		t.Fatalf("a sends to %v before the replay", ep)
	}

	attacker := n.NewBind(netip.MustParseAddr("198.51.100.66"))
	if _, _, err := attacker.Open(0); err != nil {
		t.Fatal(err)
	}
	defer attacker.Close()
	to := netsim.NewEndpoint(netip.AddrPortFrom(a.addr, a.port))
	for range 3 {
		if err := attacker.Send([][]byte{replay}, to); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a to read the replays", a.idle)
	settle()
	if p, ok := recv(t, a, 100*time.Millisecond); ok {
		t.Errorf("a replayed packet was delivered: %x", p)
	}
	if ep := pa.getEndpoint().DstAddrPort(); ep.Addr() != b.addr {
		t.Fatalf("a replayed packet moved the peer to %v", ep)
	}
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("still reaching b")))
}
