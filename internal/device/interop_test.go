package device

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/netsim/wgref"
	"github.com/warren-vpn/warren/internal/tun"
	"github.com/warren-vpn/warren/internal/wgtypes"
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
func startRef(tb testing.TB, n *netsim.Network, nd, peer *node) {
	tb.Helper()
	nd.tun = tun.NewMemory(fmt.Sprintf("ref%d", nd.addr.As4()[3]), 1420)
	ref := wgref.NewDevice(tb, n, nd.addr, wgref.Options{Memory: nd.tun})
	ref.IpcSet(tb, fmt.Sprintf("private_key=%s\nlisten_port=%d\npublic_key=%s\nendpoint=%s\nallowed_ip=%s\nallowed_ip=%s\n",
		nd.priv.Hex(), nd.port, peer.pub.Hex(), netip.AddrPortFrom(peer.addr, peer.port),
		netip.PrefixFrom(peer.v4, 32), netip.PrefixFrom(peer.v6, 128)))
}

func interopPair(t *testing.T) (*node, *node) {
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	w := newNode(t, n, 1, nil)
	r := refNodeSpec(t, 2)
	startRef(t, n, r, w)
	if err := w.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{peerOf(r, 0)}}); err != nil {
		t.Fatal(err)
	}
	return w, r
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
