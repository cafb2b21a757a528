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

// newRefNode starts the reference implementation as node i on n, with
// warren node w as its peer.
func newRefNode(t *testing.T, n *netsim.Network, i int, w *node) *node {
	t.Helper()
	priv, pub := wgref.GenerateKeys(t)
	nd := &node{
		addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
		port: uint16(51820 + i),
		v4:   netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}),
		v6:   netip.AddrFrom16([16]byte{0xfd, 0, 15: byte(i)}),
	}
	copy(nd.priv[:], priv[:])
	copy(nd.pub[:], pub[:])
	nd.tun = tun.NewMemory(fmt.Sprintf("ref%d", i), 1420)
	ref := wgref.NewDevice(t, n, nd.addr, wgref.Options{Memory: nd.tun})
	ref.IpcSet(t, fmt.Sprintf("private_key=%s\nlisten_port=%d\npublic_key=%s\nendpoint=%s\nallowed_ip=%s\nallowed_ip=%s\n",
		priv.Hex(), nd.port, w.pub.Hex(), netip.AddrPortFrom(w.addr, w.port),
		netip.PrefixFrom(w.v4, 32), netip.PrefixFrom(w.v6, 128)))
	return nd
}

func interopPair(t *testing.T) (*node, *node) {
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	w := newNode(t, n, 1, nil)
	r := newRefNode(t, n, 2, w)
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
