package device

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

func newKey(t *testing.T) noise.PublicKey {
	t.Helper()
	k, err := noise.NewPrivateKey(randReader{})
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey()
}

func TestApplyInvalidChangesNothing(t *testing.T) {
	_, a, b := newPair(t, netsim.Options{}, nil)
	before := a.d.State()
	newPriv, _ := noise.NewPrivateKey(randReader{})
	port := uint16(4000)
	v2 := 2
	bad := []*wgtypes.Config{
		{PrivateKey: &newPriv, ListenPort: &port, ReplacePeers: true, Peers: []wgtypes.PeerConfig{
			{PublicKey: newKey(t), AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}},
			{PublicKey: b.pub, ProtocolVersion: &v2},
		}},
		{Peers: []wgtypes.PeerConfig{{PublicKey: newKey(t)}, {PublicKey: b.pub, AllowedIPs: []netip.Prefix{{}}}}},
		{Peers: []wgtypes.PeerConfig{{PublicKey: b.pub, Endpoint: &netip.AddrPort{}}}},
	}
	for i, cfg := range bad {
		err := a.d.Apply(cfg)
		if !errors.Is(err, wgtypes.ErrInvalidConfig) {
			t.Errorf("config %d: error %v, want ErrInvalidConfig", i, err)
		}
		if after := a.d.State(); !reflect.DeepEqual(before, after) {
			t.Errorf("config %d changed the device:\nbefore %+v\nafter  %+v", i, before, after)
		}
	}
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("still works")))
}

func TestApplyPortInUse(t *testing.T) {
	n, a, b := newPair(t, netsim.Options{}, nil)
	squatter := n.NewBind(a.addr)
	if _, _, err := squatter.Open(6000); err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	before := a.d.State()
	port := uint16(6000)
	ka := uint16(7)
	err := a.d.Apply(&wgtypes.Config{ListenPort: &port, Peers: []wgtypes.PeerConfig{{PublicKey: b.pub, PersistentKeepaliveInterval: &ka}}})
	if !errors.Is(err, wgtypes.ErrPortInUse) {
		t.Fatalf("error %v, want ErrPortInUse", err)
	}
	if after := a.d.State(); !reflect.DeepEqual(before, after) {
		t.Fatalf("failed Apply changed the device:\nbefore %+v\nafter  %+v", before, after)
	}
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("old port still works")))

	// A free port: a rebinds and b follows it on a's next packet.
	port = 6001
	if err := a.d.Apply(&wgtypes.Config{ListenPort: &port}); err != nil {
		t.Fatal(err)
	}
	if got := a.d.State().ListenPort; got != port {
		t.Fatalf("listen port %d, want %d", got, port)
	}
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("from the new port")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("to the new port")))
	if ep := b.peer(t, a.pub).getEndpoint().DstAddrPort(); ep.Port() != port {
		t.Fatalf("b sends to %v", ep)
	}
}

func TestRandomPortAndFwMark(t *testing.T) {
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	a := newNode(t, n, 1, nil)
	zero := uint16(0)
	mark := uint32(0x51)
	if err := a.d.Apply(&wgtypes.Config{ListenPort: &zero, FwMark: &mark}); err != nil {
		t.Fatal(err)
	}
	s := a.d.State()
	if s.ListenPort == 0 || s.FwMark != mark {
		t.Fatalf("port %d mark %#x", s.ListenPort, s.FwMark)
	}
	if a.bind.Mark() != mark {
		t.Fatalf("bind mark %#x", a.bind.Mark())
	}
}

func TestPeerSemantics(t *testing.T) {
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	a := newNode(t, n, 1, nil)
	k1, k2, k3 := newKey(t), newKey(t), newKey(t)
	p24 := netip.MustParsePrefix("10.1.0.0/24")
	p32 := netip.MustParsePrefix("10.1.0.5/32")
	psk := noise.PresharedKey{1, 2, 3}
	apply := func(cfg wgtypes.Config) {
		t.Helper()
		if err := a.d.Apply(&cfg); err != nil {
			t.Fatal(err)
		}
	}
	peers := func() map[noise.PublicKey]wgtypes.Peer {
		m := make(map[noise.PublicKey]wgtypes.Peer)
		for _, p := range a.d.State().Peers {
			m[p.PublicKey] = p
		}
		return m
	}
	// Our own key is ignored; UpdateOnly does not create.
	apply(wgtypes.Config{Peers: []wgtypes.PeerConfig{
		{PublicKey: a.pub},
		{PublicKey: k1, AllowedIPs: []netip.Prefix{p24}, PresharedKey: &psk},
		{PublicKey: k2, UpdateOnly: true},
	}})
	if m := peers(); len(m) != 1 || m[k1].PresharedKey != psk || !reflect.DeepEqual(m[k1].AllowedIPs, []netip.Prefix{p24}) {
		t.Fatalf("peers %+v", m)
	}
	// AllowedIPs accumulate; ReplaceAllowedIPs replaces.
	apply(wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: k1, AllowedIPs: []netip.Prefix{p32}}}})
	if m := peers(); len(m[k1].AllowedIPs) != 2 {
		t.Fatalf("allowed IPs %v", m[k1].AllowedIPs)
	}
	apply(wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: k1, ReplaceAllowedIPs: true, AllowedIPs: []netip.Prefix{p32}}}})
	if m := peers(); !reflect.DeepEqual(m[k1].AllowedIPs, []netip.Prefix{p32}) {
		t.Fatalf("allowed IPs %v", m[k1].AllowedIPs)
	}
	// A prefix moves to the peer that claims it last.
	apply(wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: k2, AllowedIPs: []netip.Prefix{p32}}}})
	if m := peers(); len(m[k1].AllowedIPs) != 0 || len(m[k2].AllowedIPs) != 1 {
		t.Fatalf("prefix did not move: %v / %v", m[k1].AllowedIPs, m[k2].AllowedIPs)
	}
	// RemoveAllowedIPs takes one prefix from the peer that holds it, and
	// leaves a prefix another peer holds alone (as wireguard-go's
	// allowed_ip=-PREFIX and the kernel's WGALLOWEDIP_F_REMOVE_ME).
	p16 := netip.MustParsePrefix("10.2.0.0/16")
	apply(wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: k1, AllowedIPs: []netip.Prefix{p24, p16}}}})
	apply(wgtypes.Config{Peers: []wgtypes.PeerConfig{
		{PublicKey: k1, RemoveAllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.1.0.9/24"), p32}},
	}})
	if m := peers(); !reflect.DeepEqual(m[k1].AllowedIPs, []netip.Prefix{p16}) || !reflect.DeepEqual(m[k2].AllowedIPs, []netip.Prefix{p32}) {
		t.Fatalf("after removal: k1 %v (want %v), k2 %v (want %v)", m[k1].AllowedIPs, p16, m[k2].AllowedIPs, p32)
	}
	if got, ok := a.d.table.Lookup(netip.MustParseAddr("10.1.0.1")); ok {
		t.Fatalf("10.1.0.1 still routes to %v after its prefix was removed", got)
	}
	// Remove, then ReplacePeers.
	apply(wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: k1, Remove: true}}})
	if m := peers(); len(m) != 1 {
		t.Fatalf("peers after remove: %d", len(m))
	}
	apply(wgtypes.Config{ReplacePeers: true, Peers: []wgtypes.PeerConfig{{PublicKey: k3}}})
	if m := peers(); len(m) != 1 || m[k3].PublicKey != k3 {
		t.Fatalf("peers after replace: %+v", m)
	}
	if a.d.table.Len() != 0 {
		t.Fatalf("%d prefixes left for removed peers", a.d.table.Len())
	}
}

func TestPrivateKeyChange(t *testing.T) {
	_, a, b := newPair(t, netsim.Options{}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	pb := a.peer(t, b.pub)
	_, old, _ := pb.sessions()
	newPriv, _ := noise.NewPrivateKey(randReader{})
	if err := a.d.Apply(&wgtypes.Config{PrivateKey: &newPriv}); err != nil {
		t.Fatal(err)
	}
	if !old.isZeroed() {
		t.Fatal("session of the old key survived the key change")
	}
	if got := a.d.State().PublicKey; got != newPriv.PublicKey() {
		t.Fatalf("public key %v", got)
	}
	// b learns a's new key; the tunnel comes back.
	oldPub := a.pub
	a.priv, a.pub = newPriv, newPriv.PublicKey()
	pa := peerOf(a, 0)
	if err := b.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: oldPub, Remove: true}, pa}}); err != nil {
		t.Fatal(err)
	}
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("new key")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("new key")))

	// Taking the key of one of our peers drops that peer.
	if err := a.d.Apply(&wgtypes.Config{PrivateKey: &b.priv}); err != nil {
		t.Fatal(err)
	}
	if s := a.d.State(); len(s.Peers) != 0 {
		t.Fatalf("peer with our own key kept: %+v", s.Peers)
	}
}

func TestRemovePeerZeroesKeys(t *testing.T) {
	_, a, b := newPair(t, netsim.Options{}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("hello")))
	p := a.peer(t, b.pub)
	prev, cur, next := p.sessions()
	keys := p.keys
	if err := a.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: b.pub, Remove: true}}}); err != nil {
		t.Fatal(err)
	}
	for _, kp := range []*keypair{prev, cur, next} {
		if kp != nil && !kp.isZeroed() {
			t.Errorf("session %d not zeroed", kp.localIndex)
		}
	}
	if p.keys != nil || !p.psk.IsZero() {
		t.Error("peer keys not wiped")
	}
	if *keys != (noise.PeerKeys{Remote: keys.Remote}) {
		t.Error("precomputed peer keys not zeroed")
	}
	if a.d.index.len() != 0 {
		t.Errorf("%d index entries left", a.d.index.len())
	}
}

func TestCloseStopsEverything(t *testing.T) {
	checkGoroutines(t)
	_, a, b := newPair(t, netsim.Options{}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	p := a.peer(t, b.pub)
	_, cur, _ := p.sessions()
	id := a.d.identity.Load()
	if err := a.d.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.d.Wait():
	default:
		t.Fatal("Wait not closed after Close")
	}
	if !cur.isZeroed() || !id.Private.IsZero() {
		t.Error("keys survive Close")
	}
	if err := a.d.Apply(&wgtypes.Config{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close: %v", err)
	}
	if err := a.d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestTunGoneClosesDevice(t *testing.T) {
	checkGoroutines(t)
	_, a, _ := newPair(t, netsim.Options{}, nil)
	a.tun.Close()
	waitFor(t, "device closed", func() bool {
		select {
		case <-a.d.Wait():
			return true
		default:
			return false
		}
	})
}

func TestTunDownUp(t *testing.T) {
	_, a, b := newPair(t, netsim.Options{}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	if err := a.tun.SetUp(false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bind closed", func() bool { return !a.bind.LocalAddrPort().IsValid() })
	_, cur, _ := a.peer(t, b.pub).sessions()
	if cur != nil {
		t.Error("sessions survive going down")
	}
	// A new initiation must carry a later timestamp than the last one b
	// saw (whose granularity is some milliseconds).
	time.Sleep(50 * time.Millisecond)
	if err := a.tun.SetUp(true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bind open", func() bool { return a.bind.LocalAddrPort().IsValid() })
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("back up")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("back up")))
}

// TestUpRacingClose: an Up that entered just before Close began, and gets
// the device's lock only after Close went down, must not open the bind
// again: Close would wait for its receivers forever (seen as a hang of
// Example, whose TUN's EventUp raced its Close).
func TestUpRacingClose(t *testing.T) {
	checkGoroutines(t)
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	nd := newNode(t, n, 1, nil)
	d := nd.d
	if !d.enter() { // the racing Up, entered
		t.Fatal("device closing already")
	}
	closed := make(chan struct{})
	go func() {
		d.Close()
		close(closed)
	}()
	waitFor(t, "Close to go down", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.closed
	})
	err := d.bringUp()
	d.leave()
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Up after Close went down: %v, want ErrClosed", err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung")
	}
	if nd.bind.LocalAddrPort().IsValid() {
		t.Error("the bind is open after Close")
	}
}
