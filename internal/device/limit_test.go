package device

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/tun"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// newLimitedDevice returns a device (down) holding at most max peers.
func newLimitedDevice(t *testing.T, max int) *Device {
	t.Helper()
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	d, err := New(tun.NewMemory("wtlim", 1420), n.NewBind(netip.AddrFrom4([4]byte{192, 0, 2, 1})), Options{Logger: testLogger(t), MaxPeers: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestPeerLimit(t *testing.T) {
	d := newLimitedDevice(t, 3)
	if d.MaxPeers() != 3 {
		t.Fatalf("MaxPeers() = %d, want 3", d.MaxPeers())
	}
	ps := fillerPeers(t, 5)
	if err := d.Apply(&wgtypes.Config{Peers: ps[:3]}); err != nil {
		t.Fatalf("3 peers, limit 3: %v", err)
	}
	port := uint16(4444)
	err := d.Apply(&wgtypes.Config{ListenPort: &port, Peers: ps[3:4]})
	if !errors.Is(err, ErrTooManyPeers) || !errors.Is(err, wgtypes.ErrInvalidConfig) || !strings.Contains(err.Error(), "limit of 3") {
		t.Fatalf("a 4th peer: err = %v, want ErrTooManyPeers and ErrInvalidConfig naming the limit", err)
	}
	if st := d.State(); len(st.Peers) != 3 || st.ListenPort == port {
		t.Fatalf("a refused Apply changed the device: %d peers, port %d", len(st.Peers), st.ListenPort)
	}

	// Exactly counted near the limit: these leave 3 peers or fewer.
	for name, cfg := range map[string]*wgtypes.Config{
		"remove one, add one": {Peers: []wgtypes.PeerConfig{{PublicKey: ps[0].PublicKey, Remove: true}, ps[3]}},
		"same new key twice":  {Peers: []wgtypes.PeerConfig{{PublicKey: ps[3].PublicKey, Remove: true}, {PublicKey: ps[0].PublicKey, Remove: true}, ps[4], ps[4]}},
		"update_only unknown": {Peers: []wgtypes.PeerConfig{{PublicKey: ps[0].PublicKey, UpdateOnly: true}}},
		"replace by 3 others": {ReplacePeers: true, Peers: ps[2:5]},
		"add, then remove it": {Peers: []wgtypes.PeerConfig{ps[0], {PublicKey: ps[0].PublicKey, Remove: true}}},
	} {
		if err := d.Apply(cfg); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if n := len(d.State().Peers); n > 3 {
			t.Fatalf("%s: %d peers", name, n)
		}
	}
	if err := d.Apply(&wgtypes.Config{ReplacePeers: true, Peers: ps[:4]}); !errors.Is(err, ErrTooManyPeers) {
		t.Errorf("replace by 4: err = %v, want ErrTooManyPeers", err)
	}
}

func TestPeerLimitDefault(t *testing.T) {
	if d := newLimitedDevice(t, 0); d.MaxPeers() != DefaultMaxPeers {
		t.Errorf("MaxPeers() = %d, want DefaultMaxPeers", d.MaxPeers())
	}
}

// TestBulkApplyKeys: peers created by one Apply of many get their keys on
// their first handshake; they must be the keys a handshake needs,
// preshared key included, in both directions, and follow a new private
// key.
func TestBulkApplyKeys(t *testing.T) {
	nt := netsim.New(netsim.Options{})
	t.Cleanup(func() { nt.Close() })
	a := newNode(t, nt, 1, nil)
	b := newNode(t, nt, 2, nil)
	c := newNode(t, nt, 3, nil)
	psk := noise.PresharedKey{1, 2, 3}
	pb, pc := peerOf(b, 0), peerOf(c, 0)
	pb.PresharedKey = &psk
	peers := append(fillerPeers(t, 128), pb, pc)
	peers[5] = pc // c named twice: the second is an update
	if err := a.d.Apply(&wgtypes.Config{Peers: peers}); err != nil {
		t.Fatal(err)
	}
	toA := peerOf(a, 0)
	if err := c.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{toA}}); err != nil {
		t.Fatal(err)
	}
	toA.PresharedKey = &psk
	if err := b.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{toA}}); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("to b, with a psk")))
	expectPacket(t, c, a, ipv4(c.v4, a.v4, []byte("from c")))
	if got := len(a.d.State().Peers); got != 128+1 {
		t.Fatalf("%d peers, want %d", got, 128+1)
	}
	// A new private key makes every peer's keys be computed again.
	priv, err := noise.NewPrivateKey(randReader{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.d.Apply(&wgtypes.Config{PrivateKey: &priv}); err != nil {
		t.Fatal(err)
	}
	a.priv, a.pub = priv, priv.PublicKey()
	toA = peerOf(a, 0)
	toA.PresharedKey = &psk
	if err := b.d.Apply(&wgtypes.Config{ReplacePeers: true, Peers: []wgtypes.PeerConfig{toA}}); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("to the new key")))
}

// TestIdlePeersNoKeys: configuring peers computes no keys (no X25519
// operation, no cookie MAC keys) until a peer shakes hands, and a psk
// change or a new private key forgets the keys computed.
func TestIdlePeersNoKeys(t *testing.T) {
	_, a, b := newPair(t, netsim.Options{}, nil)
	if err := a.d.Apply(&wgtypes.Config{Peers: fillerPeers(t, 300)}); err != nil {
		t.Fatal(err)
	}
	withKeys := func() (n int) {
		a.d.mu.RLock()
		defer a.d.mu.RUnlock()
		for _, p := range a.d.peers {
			p.hsMu.Lock()
			if p.keys != nil || p.cookies.Load() != nil {
				n++
			}
			p.hsMu.Unlock()
		}
		return n
	}
	if n := withKeys(); n != 0 {
		t.Fatalf("%d idle peers hold keys", n)
	}
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	if n := withKeys(); n != 1 {
		t.Fatalf("%d peers hold keys after one handshake, want 1", n)
	}
	psk := noise.PresharedKey{9}
	if err := a.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: b.pub, PresharedKey: &psk}}}); err != nil {
		t.Fatal(err)
	}
	p := a.peer(t, b.pub)
	p.hsMu.Lock()
	stale := p.keys != nil
	p.hsMu.Unlock()
	if stale {
		t.Fatal("keys kept after a psk change")
	}
}
