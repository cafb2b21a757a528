package device

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/netsim/wgref"
	"github.com/warren-vpn/warren/internal/tun"
	"github.com/warren-vpn/warren/internal/wgtypes"
	"github.com/warren-vpn/warren/internal/wire"
)

// refNodeSpec draws keys and addresses for a reference node i.
func refNodeSpec(tb testing.TB, i int) *node {
	priv, pub := wgref.GenerateKeys(tb)
	nd := &node{
		addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
		port: uint16(51820 + i),
		v4:   netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}),
		v6:   netip.AddrFrom16([16]byte{0xfd, 0, 15: byte(i)}),
	}
	copy(nd.priv[:], priv[:])
	copy(nd.pub[:], pub[:])
	return nd
}

// startRef runs the reference implementation as nd on n, with peer as its
// only peer.
func startRef(tb testing.TB, n *netsim.Network, nd, peer *node) *wgref.Device {
	tb.Helper()
	nd.tun = tun.NewMemory(fmt.Sprintf("ref%d", nd.addr.As4()[3]), 1420)
	ref := wgref.NewDevice(tb, n, nd.addr, wgref.Options{Memory: nd.tun})
	ref.IpcSet(tb, fmt.Sprintf("private_key=%s\nlisten_port=%d\npublic_key=%s\nendpoint=%s\nallowed_ip=%s\nallowed_ip=%s\n",
		nd.priv.Hex(), nd.port, peer.pub.Hex(), netip.AddrPortFrom(peer.addr, peer.port),
		netip.PrefixFrom(peer.v4, 32), netip.PrefixFrom(peer.v6, 128)))
	return ref
}

func interopPair(t *testing.T) (*node, *node) {
	_, w, r := interopNet(t)
	return w, r
}

func interopNet(t *testing.T) (*netsim.Network, *node, *node) {
	n := netsim.New(netsim.Options{Seed: 11})
	t.Cleanup(func() { n.Close() })
	w := newNode(t, n, 1, nil)
	r := refNodeSpec(t, 2)
	startRef(t, n, r, w)
	if err := w.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{peerOf(r, 0)}}); err != nil {
		t.Fatal(err)
	}
	return n, w, r
}

func TestInteropWarrenInitiates(t *testing.T) {
	w, r := interopPair(t)
	expectPacket(t, w, r, ipv4(w.v4, r.v4, []byte("warren to reference")))
	expectPacket(t, r, w, ipv4(r.v4, w.v4, []byte("reference to warren")))
	expectPacket(t, w, r, ipv6(w.v6, r.v6, make([]byte, 1300)))
	expectPacket(t, r, w, ipv6(r.v6, w.v6, make([]byte, 1000)))
}

func TestInteropReferenceInitiates(t *testing.T) {
	w, r := interopPair(t)
	expectPacket(t, r, w, ipv4(r.v4, w.v4, []byte("reference to warren")))
	expectPacket(t, w, r, ipv4(w.v4, r.v4, []byte("warren to reference")))
	for i := range 50 {
		expectPacket(t, r, w, ipv6(r.v6, w.v6, []byte(fmt.Sprint("seq ", i))))
		expectPacket(t, w, r, ipv4(w.v4, r.v4, []byte(fmt.Sprint("ack ", i))))
	}
}

// TestInteropLossy: with the reference, over loss, duplication and
// reordering, every packet that arrives is intact and arrives once.
func TestInteropLossy(t *testing.T) {
	n, w, r := interopNet(t)
	expectPacket(t, w, r, ipv4(w.v4, r.v4, []byte("handshake")))
	expectPacket(t, r, w, ipv4(r.v4, w.v4, []byte("handshake")))
	n.SetLoss(0.1)
	n.SetDuplicate(0.2)
	n.SetReorder(0.2)
	for _, dir := range [][2]*node{{w, r}, {r, w}} {
		from, to := dir[0], dir[1]
		sent := make(map[string]int)
		for i := range 200 {
			p := numbered(from.v4, to.v4, i, 64+i)
			sent[string(p)] = i
			if err := from.tun.Inject(p); err != nil {
				t.Fatal(err)
			}
		}
		got := make(map[int]bool)
		for {
			p, ok := recv(t, to, 300*time.Millisecond)
			if !ok {
				break
			}
			i, known := sent[string(p)]
			if !known {
				if to.seen[string(p)] {
					continue // a late copy of the warm-up packet, re-sent while the handshake ran
				}
				t.Fatalf("%v -> %v: corrupted packet %x", from.v4, to.v4, p)
			}
			if got[i] {
				t.Fatalf("%v -> %v: packet %d delivered twice", from.v4, to.v4, i)
			}
			got[i] = true
		}
		if len(got) < 140 {
			t.Errorf("%v -> %v: only %d of 200 arrived", from.v4, to.v4, len(got))
		}
	}
}

// connectThroughFlood floods to's responder with initiations until it
// sends cookie replies, then has from connect: from must consume the cookie
// reply and retry with MAC2, which takes one RekeyTimeout of real time.
func connectThroughFlood(t *testing.T, n *netsim.Network, from, to *node, overflow func() uint64) {
	var cookiesToFrom, cookiesOut atomic.Int64
	n.SetFilter(func(src, dst netip.AddrPort, data []byte) bool {
		if len(data) > 0 && data[0] == wire.TypeCookieReply {
			cookiesOut.Add(1)
			if dst.Addr() == from.addr {
				cookiesToFrom.Add(1)
			}
		}
		return true
	})
	stop, _ := startFlood(t, n, netip.AddrPortFrom(to.addr, to.port), craftInitiation(t, to.pub, time.Now()), overflow)
	defer stop()
	waitFor(t, "cookie replies", func() bool { return cookiesOut.Load() > 100 })
	pkt := ipv4(from.v4, to.v4, []byte("through the flood"))
	deadline := time.Now().Add(4 * RekeyTimeout)
	for {
		if err := from.tun.Inject(pkt); err != nil {
			t.Fatal(err)
		}
		if _, ok := recv(t, to, time.Second); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection through the flood (cookie replies to the initiator: %d)", cookiesToFrom.Load())
		}
	}
	if cookiesToFrom.Load() == 0 {
		t.Error("connected without a cookie: the responder was not under load")
	}
}

func TestInteropCookieFromReference(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a RekeyTimeout")
	}
	n := netsim.New(netsim.Options{Seed: 5, QueueLen: 4096})
	t.Cleanup(func() { n.Close() })
	w := newNode(t, n, 1, nil)
	r := refNodeSpec(t, 2)
	ref := startRef(t, n, r, w)
	if err := w.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{peerOf(r, 0)}}); err != nil {
		t.Fatal(err)
	}
	connectThroughFlood(t, n, w, r, func() uint64 { return ref.Bind.Sim.Stats().Overflow })
}

func TestInteropCookieToReference(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a RekeyTimeout")
	}
	n := netsim.New(netsim.Options{Seed: 6, QueueLen: 4096})
	t.Cleanup(func() { n.Close() })
	w := newNode(t, n, 1, nil)
	r := refNodeSpec(t, 2)
	startRef(t, n, r, w)
	if err := w.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{peerOf(r, 0)}}); err != nil {
		t.Fatal(err)
	}
	connectThroughFlood(t, n, r, w, func() uint64 { return w.bind.Stats().Overflow })
}
