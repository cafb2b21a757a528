//go:build linux

package manager_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/manager/managertest"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/tun"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// uapiSystem reaches devices through real UAPI sockets (the Linux
// System's code) and keeps the fake's activation and logs.
type uapiSystem struct {
	*managertest.System
	real *manager.LinuxSystem
}

func (s uapiSystem) Interfaces() ([]string, error)               { return s.real.Interfaces() }
func (s uapiSystem) Device(name string) (*wgtypes.Device, error) { return s.real.Device(name) }
func (s uapiSystem) Configure(name string, cfg *wgtypes.Config) error {
	return s.real.Configure(name, cfg)
}

type engine struct {
	dev *device.Device
	tun *tun.Memory
}

// newEngine starts an in-process warren engine on the simulated network.
func newEngine(t *testing.T, n *netsim.Network, addr netip.Addr, cfg *wgtypes.Config) *engine {
	t.Helper()
	e := &engine{tun: tun.NewMemory("t", 1420)}
	var err error
	e.dev, err = device.New(e.tun, n.NewBind(addr), device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.dev.Close() })
	if err := e.dev.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if err := e.dev.Up(); err != nil {
		t.Fatal(err)
	}
	return e
}

// udp4 is a small IPv4/UDP packet from src to dst.
func udp4(src, dst netip.Addr) []byte {
	p := make([]byte, 60)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8], p[9] = 64, 17
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	return p
}

// reaches sends packets from e (as src) to dst until to's TUN delivers
// one from src, or the time is up.
func reaches(e, to *engine, src, dst netip.Addr, within time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for ctx.Err() == nil {
		e.tun.Inject(udp4(src, dst))
		wait, stop := context.WithTimeout(ctx, 50*time.Millisecond)
		for {
			p, err := to.tun.ReadOutbound(wait)
			if err != nil {
				break
			}
			if len(p) >= 20 && netip.AddrFrom4([4]byte(p[12:16])) == src {
				stop()
				return true
			}
		}
		stop()
	}
	return false
}

// A client is added to a running server through its real UAPI socket
// without disturbing the peer already talking to it; the configuration
// the manager hands out brings an engine up that reaches the server; an
// expired client cannot, and enabled again, the same configuration works.
func TestClientsThroughUAPI(t *testing.T) {
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	srvAddr, bobAddr := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	self, bob := newKey(t), newKey(t)
	port := uint16(51820)
	bobEP := netip.AddrPortFrom(bobAddr, port)
	srvEP := netip.AddrPortFrom(srvAddr, port)
	srv := newEngine(t, n, srvAddr, &wgtypes.Config{PrivateKey: &self.priv, ListenPort: &port, Peers: []wgtypes.PeerConfig{{
		PublicKey: bob.pub, Endpoint: &bobEP, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.8.0.2/32")}}}})
	bobEng := newEngine(t, n, bobAddr, &wgtypes.Config{PrivateKey: &bob.priv, ListenPort: &port, Peers: []wgtypes.PeerConfig{{
		PublicKey: self.pub, Endpoint: &srvEP, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.8.0.0/24")}}}})

	sockDir := t.TempDir()
	l, err := uapi.Listen(sockDir, "wgs")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { uapi.Serve(l, srv.dev, t.Logf); close(served) }()
	t.Cleanup(func() { l.Close(); <-served })

	bobIP, srvIP := netip.MustParseAddr("10.8.0.2"), netip.MustParseAddr("10.8.0.1")
	if !reaches(bobEng, srv, bobIP, srvIP, 10*time.Second) {
		t.Fatal("bob does not reach the server")
	}
	bobBefore := peerOf(srv.dev.State(), bob)

	clock := &fakeClock{t: time.Now()}
	store := managertest.NewStore()
	sys := uapiSystem{System: managertest.NewSystem(store, t.TempDir()), real: &manager.LinuxSystem{SocketDir: sockDir}}
	m, err := manager.New(manager.Options{System: sys, Store: store, StateDir: t.TempDir() + "/state", Argon2: cheap, SamplePeriod: time.Hour, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	cfgText := fmt.Sprintf("[Interface]\nPrivateKey = %s\nListenPort = 51820\nAddress = 10.8.0.1/24\n\n# Name = bob\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.8.0.2/32\nEndpoint = %s\n",
		self.priv.Base64(), bob.pub, bobEP)
	if _, err := m.Import("wgs", []byte(cfgText)); err != nil {
		t.Fatal(err)
	}
	s := manager.DefaultClientSettings()
	s.EndpointHost = srvAddr.String()
	s.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.8.0.0/24")}
	if err := m.SetClientSettings("wgs", s); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, cc, err := m.AddClient(ctx, "wgs", manager.NewClient{Name: "alice", Expires: clock.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	clientText := append([]byte(nil), cc.Text...)
	cc.Zero()

	// bob's session and counters survived: no peer was replaced.
	bobAfter := peerOf(srv.dev.State(), bob)
	if bobAfter.LastHandshakeTime != bobBefore.LastHandshakeTime || bobAfter.RxBytes < bobBefore.RxBytes || bobBefore.RxBytes == 0 {
		t.Errorf("bob disturbed: before %+v, after %+v", bobBefore, bobAfter)
	}
	if !reaches(bobEng, srv, bobIP, srvIP, 5*time.Second) {
		t.Error("bob no longer reaches the server")
	}
	if p := peerOf(srv.dev.State(), keypair{pub: c.PublicKey}); p.PublicKey != c.PublicKey || p.PresharedKey.IsZero() {
		t.Fatalf("the device lacks the client or its preshared key: %+v", p)
	}

	// The client's configuration, on a third engine.
	aliceIP := c.Addresses[0].Addr()
	startClient := func(addr netip.Addr) *engine {
		f, err := conf.Parse("alice.conf", clientText, conf.Options{Quick: true})
		if err != nil {
			t.Fatal(err)
		}
		wc, err := conf.Strip(f).WireGuardConfig(ctx, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		return newEngine(t, n, addr, wc)
	}
	alice := startClient(netip.MustParseAddr("192.0.2.3"))
	if !reaches(alice, srv, aliceIP, srvIP, 10*time.Second) {
		t.Fatal("the client's configuration does not reach the server")
	}

	// Expired: gone from the device, and it cannot reach the server.
	clock.add(time.Hour)
	m.ExpireClients(ctx)
	if p := peerOf(srv.dev.State(), keypair{pub: c.PublicKey}); p.PublicKey == c.PublicKey {
		t.Fatal("the expired client is still on the device")
	}
	// Nothing of the first engine's may linger in the server's queue.
	alice.dev.Close()
	drain(srv)
	late := startClient(netip.MustParseAddr("192.0.2.4"))
	if reaches(late, srv, aliceIP, srvIP, 2*time.Second) {
		t.Error("an expired client reached the server")
	}
	if peerOf(srv.dev.State(), bob).LastHandshakeTime != bobBefore.LastHandshakeTime {
		t.Error("expiring the client disturbed bob")
	}

	// Enabled again: the configuration the client holds works again.
	if _, err := m.EnableClient(ctx, "wgs", c.PublicKey, time.Time{}); err != nil {
		t.Fatal(err)
	}
	again := startClient(netip.MustParseAddr("192.0.2.5"))
	if !reaches(again, srv, aliceIP, srvIP, 10*time.Second) {
		t.Error("the re-enabled client does not reach the server")
	}
	if err := m.DeleteClient(ctx, "wgs", c.PublicKey); err != nil {
		t.Fatal(err)
	}
	if p := peerOf(srv.dev.State(), keypair{pub: c.PublicKey}); p.PublicKey == c.PublicKey {
		t.Error("the deleted client is still on the device")
	}
	if got := srv.dev.State(); len(got.Peers) != 1 || got.Peers[0].PublicKey != bob.pub {
		t.Errorf("device peers after delete: %+v", got.Peers)
	}
}

// drain empties e's TUN queue of what the engine wrote so far.
func drain(e *engine) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := e.tun.ReadOutbound(ctx)
		cancel()
		if err != nil {
			return
		}
	}
}

func peerOf(d *wgtypes.Device, k keypair) wgtypes.Peer {
	for _, p := range d.Peers {
		if p.PublicKey == k.pub {
			return p
		}
	}
	return wgtypes.Peer{}
}
