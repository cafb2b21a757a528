package manager_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// serverConfig is a tunnel that listens, with two subnets and one named
// peer (bob, 10.8.0.2) whose section is followed by a comment.
func serverConfig(self, bob keypair) string {
	return "[Interface]\n# the office\nPrivateKey = " + self.priv.Base64() + "\nListenPort = 51820\nAddress = 10.8.0.1/24, fd00:8::1/64\n\n" +
		"# Name = bob\n[Peer]\nPublicKey = " + bob.pub.String() + "\nAllowedIPs = 10.8.0.2/32, fd00:8::2/128\n# keep this line\n"
}

type clientFixture struct {
	*fixture
	clock      *fakeClock
	self, bob  keypair
	original   string
	bobHS      time.Time
	ctx        context.Context
	settingsOK manager.ClientSettings
}

// newClientFixture has wg0 imported and running, bob with traffic, and
// the client settings set.
func newClientFixture(t *testing.T) *clientFixture {
	clock := &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	f := newFixture(t, func(o *manager.Options) { o.Now = clock.now })
	cf := &clientFixture{fixture: f, clock: clock, self: newKey(t), bob: newKey(t), ctx: context.Background()}
	cf.original = serverConfig(cf.self, cf.bob)
	if _, err := f.m.Import("wg0", []byte(cf.original)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Activate(cf.ctx, "wg0"); err != nil {
		t.Fatal(err)
	}
	cf.bobHS = time.Date(2026, 5, 1, 11, 59, 0, 0, time.UTC)
	f.sys.SetStats("wg0", cf.bob.pub, 1000, 2000, cf.bobHS)
	cf.settingsOK = manager.ClientSettings{EndpointHost: "vpn.example.com", DNS: []netip.Addr{netip.MustParseAddr("10.8.0.1")},
		AllowedIPs: manager.DefaultClientAllowedIPs, PersistentKeepalive: 25}
	if err := f.m.SetClientSettings("wg0", cf.settingsOK); err != nil {
		t.Fatal(err)
	}
	return cf
}

func (cf *clientFixture) file(t *testing.T) string {
	t.Helper()
	data, err := cf.store.Read("wg0")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func (cf *clientFixture) device(t *testing.T) *wgtypes.Device {
	t.Helper()
	d, err := cf.sys.Device("wg0")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func devicePeer(d *wgtypes.Device, pub noise.PublicKey) *wgtypes.Peer {
	for i := range d.Peers {
		if d.Peers[i].PublicKey == pub {
			return &d.Peers[i]
		}
	}
	return nil
}

// checkBobUntouched: bob, on the device, kept his counters and handshake
// (a replace_peers set would have dropped and re-added him).
func (cf *clientFixture) checkBobUntouched(t *testing.T) {
	t.Helper()
	p := devicePeer(cf.device(t), cf.bob.pub)
	if p == nil || p.RxBytes != 1000 || p.TxBytes != 2000 || !p.LastHandshakeTime.Equal(cf.bobHS) {
		t.Errorf("bob was disturbed: %+v", p)
	}
}

func (cf *clientFixture) add(t *testing.T, name string, expires time.Time) (*manager.Client, string) {
	t.Helper()
	c, cfg, err := cf.m.AddClient(cf.ctx, "wg0", manager.NewClient{Name: name, Expires: expires})
	if err != nil {
		t.Fatal(err)
	}
	text := string(cfg.Text)
	cfg.Zero()
	return c, text
}

func TestAddClient(t *testing.T) {
	cf := newClientFixture(t)
	c, text := cf.add(t, "alice", time.Time{})

	// The client's configuration.
	cc, err := conf.Parse("alice.conf", []byte(text), conf.Options{Quick: true})
	if err != nil {
		t.Fatalf("client configuration: %v\n%s", err, text)
	}
	wantAddrs := []netip.Prefix{netip.MustParsePrefix("10.8.0.3/32"), netip.MustParsePrefix("fd00:8::3/128")}
	if !slices.Equal(cc.Interface.Addresses, wantAddrs) || !slices.Equal(c.Addresses, wantAddrs) {
		t.Errorf("addresses %v, client %v, want %v", cc.Interface.Addresses, c.Addresses, wantAddrs)
	}
	if cc.Interface.PrivateKey == nil || cc.Interface.PrivateKey.PublicKey() != c.PublicKey {
		t.Error("the configuration's private key is not the client's")
	}
	if !slices.Equal(cc.Interface.DNS, cf.settingsOK.DNS) || len(cc.Peers) != 1 {
		t.Fatalf("client configuration: %+v", cc)
	}
	sp := cc.Peers[0]
	if sp.PublicKey != cf.self.pub || sp.Endpoint != "vpn.example.com:51820" || !slices.Equal(sp.AllowedIPs, manager.DefaultClientAllowedIPs) ||
		sp.PersistentKeepalive == nil || *sp.PersistentKeepalive != 25 || sp.PresharedKey == nil {
		t.Errorf("the client's [Peer]: %+v", sp)
	}

	// The server's file: the old text byte for byte, then the client.
	file := cf.file(t)
	if !strings.HasPrefix(file, cf.original) {
		t.Fatalf("the file's old text changed:\n%s", file)
	}
	added := strings.TrimPrefix(file, cf.original)
	if !strings.HasPrefix(added, "\n# Name = alice\n[Peer]\nPublicKey = "+c.PublicKey.String()+"\n") {
		t.Errorf("added section:\n%s", added)
	}
	sf, err := conf.Parse("wg0", []byte(file), conf.Options{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	last := sf.Peers[len(sf.Peers)-1]
	if last.Name != "alice" || last.PresharedKey == nil || *last.PresharedKey != *sp.PresharedKey || !slices.Equal(last.AllowedIPs, wantAddrs) {
		t.Errorf("server's peer: %+v", last)
	}

	// The device: alice added, bob left alone.
	p := devicePeer(cf.device(t), c.PublicKey)
	if p == nil || p.PresharedKey != *sp.PresharedKey || !slices.Equal(p.AllowedIPs, wantAddrs) {
		t.Errorf("device peer: %+v", p)
	}
	cf.checkBobUntouched(t)

	// The private key is nowhere but in what AddClient returned.
	priv := cc.Interface.PrivateKey.Base64()
	checkNowhere(t, cf.fixture, priv)

	// Listed.
	cs, err := cf.m.Clients("wg0")
	if err != nil || len(cs) != 1 || cs[0].Name != "alice" || cs[0].Disabled || !cs[0].Running {
		t.Errorf("clients: %+v, %v", cs, err)
	}

	// The next one gets the next addresses; holes are reused.
	c2, _ := cf.add(t, "carol", time.Time{})
	if c2.Addresses[0] != netip.MustParsePrefix("10.8.0.4/32") {
		t.Errorf("carol: %v", c2.Addresses)
	}
	if err := cf.m.DeleteClient(cf.ctx, "wg0", c.PublicKey); err != nil {
		t.Fatal(err)
	}
	c3, _ := cf.add(t, "dave", time.Time{})
	if !slices.Equal(c3.Addresses, wantAddrs) {
		t.Errorf("dave did not get alice's addresses back: %v", c3.Addresses)
	}
}

func findClient(cs []manager.Client, pub noise.PublicKey) manager.Client {
	for _, c := range cs {
		if c.PublicKey == pub {
			return c
		}
	}
	return manager.Client{}
}

// checkNowhere fails if secret is in the store, the state directory or
// the manager's log.
func checkNowhere(t *testing.T, f *fixture, secret string) {
	t.Helper()
	data, _ := f.store.Read("wg0")
	if bytes.Contains(data, []byte(secret)) {
		t.Error("the client's private key is in the server's configuration")
	}
	filepath.Walk(f.state, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("the client's private key is in %s", p)
			}
		}
		return nil
	})
}

func TestAddClientRefusals(t *testing.T) {
	cf := newClientFixture(t)
	before := cf.file(t)
	for _, c := range []struct {
		name    string
		req     manager.NewClient
		want    error
		message string
	}{
		{"empty name", manager.NewClient{}, manager.ErrClientName, "empty"},
		{"newline", manager.NewClient{Name: "a\n[Peer]"}, manager.ErrClientName, "control"},
		{"bidi override", manager.NewClient{Name: "a\u202eb"}, manager.ErrClientName, "formatting"},
		{"too long", manager.NewClient{Name: strings.Repeat("x", 65)}, manager.ErrClientName, "longer"},
		{"space at the end", manager.NewClient{Name: "alice "}, manager.ErrClientName, "white space"},
		{"taken name", manager.NewClient{Name: "bob"}, manager.ErrClientName, `"bob"`},
		{"expiry in the past", manager.NewClient{Name: "x", Expires: cf.clock.now()}, manager.ErrExpiry, "not in the future"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, cfg, err := cf.m.AddClient(cf.ctx, "wg0", c.req)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.message) || cfg != nil {
				t.Errorf("got %v, want %v with %q", err, c.want, c.message)
			}
		})
	}
	// No endpoint host: refused, saying where to set one.
	s := cf.settingsOK
	s.EndpointHost = ""
	if err := cf.m.SetClientSettings("wg0", s); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cf.m.AddClient(cf.ctx, "wg0", manager.NewClient{Name: "x"}); !errors.Is(err, manager.ErrNoEndpoint) {
		t.Errorf("no endpoint: %v", err)
	}
	if cf.file(t) != before || len(cf.device(t).Peers) != 1 {
		t.Error("a refused client changed the tunnel")
	}
	if _, _, err := cf.m.AddClient(cf.ctx, "nope", manager.NewClient{Name: "x"}); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("unknown tunnel: %v", err)
	}
}

// A tunnel without ListenPort is no server (unless the settings give the
// port); a full subnet is refused, naming it.
func TestAddClientNotAServer(t *testing.T) {
	f := newFixture(t, nil)
	self, bob := newKey(t), newKey(t)
	conf := "[Interface]\nPrivateKey = " + self.priv.Base64() + "\nAddress = 10.8.0.1/30\n\n[Peer]\nPublicKey = " + bob.pub.String() + "\nAllowedIPs = 10.8.0.2/32\n"
	if _, err := f.m.Import("wg1", []byte(conf)); err != nil {
		t.Fatal(err)
	}
	s := manager.DefaultClientSettings()
	s.EndpointHost = "192.0.2.1"
	if err := f.m.SetClientSettings("wg1", s); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.m.AddClient(context.Background(), "wg1", manager.NewClient{Name: "x"}); !errors.Is(err, manager.ErrNotListening) {
		t.Errorf("no ListenPort: %v", err)
	}
	s.EndpointPort = 443
	f.m.SetClientSettings("wg1", s)
	_, _, err := f.m.AddClient(context.Background(), "wg1", manager.NewClient{Name: "x"})
	if !errors.Is(err, manager.ErrSubnetFull) || !strings.Contains(err.Error(), "10.8.0.0/30") {
		t.Errorf("full /30: %v", err)
	}
	// A tunnel without peers yet: the first client is its first section.
	alone := "[Interface]\nPrivateKey = " + self.priv.Base64() + "\nListenPort = 51820\nAddress = 10.9.0.1/31"
	f.m.Import("wg2", []byte(alone))
	f.m.SetClientSettings("wg2", s)
	c, cfg, err := f.m.AddClient(context.Background(), "wg2", manager.NewClient{Name: "first"})
	if err != nil || c.Addresses[0] != netip.MustParsePrefix("10.9.0.0/32") {
		t.Fatalf("first client of a tunnel without peers: %+v %v", c, err)
	}
	cfg.Zero()
	data, _ := f.store.Read("wg2")
	if !strings.HasPrefix(string(data), alone+"\n\n# Name = first\n[Peer]\n") {
		t.Errorf("file:\n%s", data)
	}
	if _, _, err = f.m.AddClient(context.Background(), "wg2", manager.NewClient{Name: "second"}); !errors.Is(err, manager.ErrSubnetFull) {
		t.Errorf("full /31: %v", err)
	}
	_, _, err = f.m.AddClient(context.Background(), "wg1", manager.NewClient{Name: "x"})
	if !errors.Is(err, manager.ErrSubnetFull) || !strings.Contains(err.Error(), "10.8.0.0/30") {
		t.Errorf("full /30: %v", err)
	}
}

func TestClientSettings(t *testing.T) {
	cf := newClientFixture(t)
	got, err := cf.m.ClientSettings("wg0")
	if err != nil || got.EndpointHost != "vpn.example.com" {
		t.Fatalf("%+v %v", got, err)
	}
	f2 := newFixture(t, nil)
	f2.m.Import("wg0", []byte(cf.original))
	def, err := f2.m.ClientSettings("wg0")
	if err != nil || def.EndpointHost != "" || def.EndpointPort != 0 || def.PersistentKeepalive != 25 || !slices.Equal(def.AllowedIPs, manager.DefaultClientAllowedIPs) {
		t.Errorf("defaults: %+v %v", def, err)
	}
	for _, bad := range []manager.ClientSettings{
		{EndpointHost: "vpn example", AllowedIPs: manager.DefaultClientAllowedIPs},
		{EndpointHost: "vpn.example.com\n[Peer]", AllowedIPs: manager.DefaultClientAllowedIPs},
		{EndpointHost: "a#b", AllowedIPs: manager.DefaultClientAllowedIPs},
		{EndpointHost: "-a.example", AllowedIPs: manager.DefaultClientAllowedIPs},
		{EndpointHost: "fe80::1%eth0", AllowedIPs: manager.DefaultClientAllowedIPs},
		{EndpointHost: "0.0.0.0", AllowedIPs: manager.DefaultClientAllowedIPs},
		{EndpointHost: strings.Repeat("a.", 130) + "a", AllowedIPs: manager.DefaultClientAllowedIPs},
		{EndpointHost: "vpn.example.com"},
		{EndpointHost: "vpn.example.com", AllowedIPs: manager.DefaultClientAllowedIPs, DNS: []netip.Addr{{}}},
	} {
		if err := cf.m.SetClientSettings("wg0", bad); !errors.Is(err, manager.ErrClientSettings) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	got, _ = cf.m.ClientSettings("wg0")
	if got.EndpointHost != "vpn.example.com" {
		t.Errorf("a refused change was stored: %+v", got)
	}
	// An IPv6 endpoint host is written in brackets.
	s := cf.settingsOK
	s.EndpointHost, s.EndpointPort = "2001:db8::1", 4500
	cf.m.SetClientSettings("wg0", s)
	_, text := cf.add(t, "v6", time.Time{})
	if !strings.Contains(text, "\nEndpoint = [2001:db8::1]:4500\n") {
		t.Errorf("IPv6 endpoint:\n%s", text)
	}
}

// A device that refuses the peer leaves the file and the state as they
// were.
func TestAddClientRollback(t *testing.T) {
	cf := newClientFixture(t)
	cf.sys.ConfigureErr = errors.New("device says no")
	_, cfg, err := cf.m.AddClient(cf.ctx, "wg0", manager.NewClient{Name: "alice"})
	if err == nil || cfg != nil || !strings.Contains(err.Error(), "device says no") {
		t.Fatalf("got %v", err)
	}
	if cf.file(t) != cf.original {
		t.Errorf("file not restored:\n%s", cf.file(t))
	}
	if cs, _ := cf.m.Clients("wg0"); len(cs) != 0 {
		t.Errorf("clients after a failed add: %+v", cs)
	}
	cf.sys.ConfigureErr = nil
	cf.store.WriteErr = errors.New("disk full")
	if _, _, err := cf.m.AddClient(cf.ctx, "wg0", manager.NewClient{Name: "alice"}); err == nil {
		t.Fatal("added with a failing store")
	}
	cf.store.WriteErr = nil
	if len(cf.device(t).Peers) != 1 {
		t.Error("the device got a peer whose file write failed")
	}
	if cs, _ := cf.m.Clients("wg0"); len(cs) != 0 {
		t.Errorf("clients after a failed add: %+v", cs)
	}
}

// Disable takes the client out of the file and the device (so warren up
// cannot bring it back), Enable puts it back as it was, Delete removes
// it everywhere; the other peers and the rest of the file never change.
func TestDisableEnableDelete(t *testing.T) {
	cf := newClientFixture(t)
	c, text := cf.add(t, "alice", time.Time{})
	withAlice := cf.file(t)

	got, err := cf.m.DisableClient(cf.ctx, "wg0", c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Disabled || got.DisabledReason != manager.ReasonDisabled || got.Running || got.Name != "alice" {
		t.Errorf("disabled client: %+v", got)
	}
	if cf.file(t) != cf.original {
		t.Errorf("file after disable is not the file before the add:\n%s", cf.file(t))
	}
	if devicePeer(cf.device(t), c.PublicKey) != nil {
		t.Error("still on the device")
	}
	cf.checkBobUntouched(t)
	// A restart of the tunnel from its file does not bring it back.
	cf.m.Deactivate(cf.ctx, "wg0")
	cf.m.Activate(cf.ctx, "wg0")
	if devicePeer(cf.device(t), c.PublicKey) != nil {
		t.Error("warren up brought a disabled client back")
	}
	cf.sys.SetStats("wg0", cf.bob.pub, 1000, 2000, cf.bobHS)
	// Its address stays reserved.
	c2, _ := cf.add(t, "carol", time.Time{})
	if slices.Contains(c2.Addresses, c.Addresses[0]) {
		t.Errorf("a disabled client's address was given away: %v", c2.Addresses)
	}
	if _, err := cf.m.DisableClient(cf.ctx, "wg0", c.PublicKey); err != nil {
		t.Errorf("disabling twice: %v", err)
	}

	expires := cf.clock.now().Add(48 * time.Hour)
	got, err = cf.m.EnableClient(cf.ctx, "wg0", c.PublicKey, expires)
	if err != nil {
		t.Fatal(err)
	}
	if got.Disabled || !got.Expires.Equal(expires) || !got.Running {
		t.Errorf("enabled: %+v", got)
	}
	// The same section, now after carol's; the configuration alice holds
	// works again (same keys).
	file := cf.file(t)
	aliceBlock := strings.TrimPrefix(withAlice, cf.original)
	if !strings.HasSuffix(file, aliceBlock) {
		t.Errorf("alice's section did not come back as it was:\n%s", file)
	}
	cc, _ := conf.Parse("a", []byte(text), conf.Options{Quick: true})
	p := devicePeer(cf.device(t), c.PublicKey)
	if p == nil || p.PresharedKey != *cc.Peers[0].PresharedKey || !slices.Equal(p.AllowedIPs, c.Addresses) {
		t.Errorf("device peer after enable: %+v", p)
	}
	cf.checkBobUntouched(t)

	if err := cf.m.DeleteClient(cf.ctx, "wg0", c.PublicKey); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cf.file(t), c.PublicKey.String()) || devicePeer(cf.device(t), c.PublicKey) != nil {
		t.Error("deleted client still in the file or device")
	}
	if err := cf.m.DeleteClient(cf.ctx, "wg0", c2.PublicKey); err != nil {
		t.Fatal(err)
	}
	if cf.file(t) != cf.original {
		t.Errorf("file after deleting both:\n%s", cf.file(t))
	}
	if cs, _ := cf.m.Clients("wg0"); len(cs) != 0 {
		t.Errorf("clients after delete: %+v", cs)
	}
	// A disabled client is deleted from the state: its preshared key
	// leaves clients.json.
	c3, _ := cf.add(t, "erin", time.Time{})
	cf.m.DisableClient(cf.ctx, "wg0", c3.PublicKey)
	state, _ := os.ReadFile(filepath.Join(cf.state, "clients.json"))
	if !strings.Contains(string(state), c3.PublicKey.String()) {
		t.Fatal("the disabled client is not in clients.json")
	}
	if err := cf.m.DeleteClient(cf.ctx, "wg0", c3.PublicKey); err != nil {
		t.Fatal(err)
	}
	state, _ = os.ReadFile(filepath.Join(cf.state, "clients.json"))
	if strings.Contains(string(state), c3.PublicKey.String()) {
		t.Error("a deleted disabled client is still in clients.json")
	}
	if err := cf.m.DeleteClient(cf.ctx, "wg0", c3.PublicKey); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
}

// A disabled client keeps the addresses its section had when it was
// disabled (an edit may have changed them) reserved.
func TestDisabledClientKeepsEditedAddresses(t *testing.T) {
	cf := newClientFixture(t)
	c, _ := cf.add(t, "alice", time.Time{})
	edited := strings.Replace(cf.file(t), "AllowedIPs = 10.8.0.3/32, fd00:8::3/128", "AllowedIPs = 10.8.0.9/32", 1)
	if _, err := cf.m.Update(cf.ctx, "wg0", []byte(edited)); err != nil {
		t.Fatal(err)
	}
	got, err := cf.m.DisableClient(cf.ctx, "wg0", c.PublicKey)
	if err != nil || !slices.Equal(got.Addresses, []netip.Prefix{netip.MustParsePrefix("10.8.0.9/32")}) {
		t.Fatalf("%+v %v", got, err)
	}
	for i := 0; i < 7; i++ {
		n, _ := cf.add(t, fmt.Sprintf("c%d", i), time.Time{})
		if n.Addresses[0] == netip.MustParsePrefix("10.8.0.9/32") {
			t.Fatalf("the disabled client's address was given to %s", n.Name)
		}
	}
	if _, err := cf.m.EnableClient(cf.ctx, "wg0", c.PublicKey, time.Time{}); err != nil {
		t.Errorf("enable: %v", err)
	}
}

// A disabled client whose address another peer took meanwhile cannot be
// enabled; nothing changes.
func TestEnableClientConflict(t *testing.T) {
	cf := newClientFixture(t)
	c, _ := cf.add(t, "alice", time.Time{})
	cf.m.DisableClient(cf.ctx, "wg0", c.PublicKey)
	intruder := newKey(t)
	edited := cf.file(t) + "\n[Peer]\nPublicKey = " + intruder.pub.String() + "\nAllowedIPs = 10.8.0.0/29\n"
	if _, err := cf.m.Update(cf.ctx, "wg0", []byte(edited)); err != nil {
		t.Fatal(err)
	}
	_, err := cf.m.EnableClient(cf.ctx, "wg0", c.PublicKey, time.Time{})
	if !errors.Is(err, manager.ErrAddressTaken) || !strings.Contains(err.Error(), "10.8.0.3/32") {
		t.Errorf("got %v", err)
	}
	if cf.file(t) != edited {
		t.Error("a refused enable changed the file")
	}
	cs, _ := cf.m.Clients("wg0")
	if len(cs) != 1 || !cs[0].Disabled {
		t.Errorf("%+v", cs)
	}
}

// An expired client is disabled by the expiry check: out of the file and
// the device, shown as expired, and it can be enabled with a new expiry.
func TestClientExpiry(t *testing.T) {
	cf := newClientFixture(t)
	soon := cf.clock.now().Add(time.Hour)
	c, _ := cf.add(t, "alice", soon)
	later, _ := cf.add(t, "carol", soon.Add(time.Hour))
	if next := cf.m.ExpireClients(cf.ctx); !next.Equal(soon) {
		t.Errorf("next expiry %v, want %v", next, soon)
	}
	cf.clock.add(time.Hour)
	if next := cf.m.ExpireClients(cf.ctx); !next.Equal(later.Expires) {
		t.Errorf("next expiry %v, want %v", next, later.Expires)
	}
	cs, _ := cf.m.Clients("wg0")
	if a, b := findClient(cs, c.PublicKey), findClient(cs, later.PublicKey); len(cs) != 2 || !a.Disabled || a.DisabledReason != manager.ReasonExpired || b.Disabled {
		t.Fatalf("after expiry: %+v", cs)
	}
	if strings.Contains(cf.file(t), c.PublicKey.String()) || devicePeer(cf.device(t), c.PublicKey) != nil {
		t.Error("expired client still in the file or the device")
	}
	cf.checkBobUntouched(t)
	if _, err := cf.m.EnableClient(cf.ctx, "wg0", c.PublicKey, cf.clock.now()); !errors.Is(err, manager.ErrExpiry) {
		t.Errorf("enable with a past expiry: %v", err)
	}
	got, err := cf.m.EnableClient(cf.ctx, "wg0", c.PublicKey, time.Time{})
	if err != nil || got.Disabled || !got.Expires.IsZero() {
		t.Fatalf("re-enabled: %+v %v", got, err)
	}
	cf.clock.add(100 * 24 * time.Hour)
	cf.m.ExpireClients(cf.ctx)
	cs, _ = cf.m.Clients("wg0")
	if findClient(cs, c.PublicKey).Disabled || !findClient(cs, later.PublicKey).Disabled {
		t.Errorf("a client without expiry expired, or carol did not: %+v", cs)
	}
}

// Clients that expired while the manager was not running are disabled
// when it starts.
func TestClientExpiryAtStart(t *testing.T) {
	cf := newClientFixture(t)
	c, _ := cf.add(t, "alice", cf.clock.now().Add(time.Minute))
	cf.m.Close()
	cf.clock.add(time.Hour)
	m2, err := manager.New(manager.Options{System: cf.sys, Store: cf.store, StateDir: cf.state, Argon2: cheap, SamplePeriod: time.Hour, Now: cf.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(cf.file(t), c.PublicKey.String()) {
		if time.Now().After(deadline) {
			t.Fatal("an expired client is still in the file after the manager started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if devicePeer(cf.device(t), c.PublicKey) != nil {
		t.Error("the expired client is still on the device")
	}
}

// An edit that takes a client's peer out of the file makes the manager
// forget the client; one that puts a disabled client's section back by
// hand enables it.
func TestClientsFollowEdits(t *testing.T) {
	cf := newClientFixture(t)
	c, _ := cf.add(t, "alice", time.Time{})
	withAlice := cf.file(t)
	d, _ := cf.add(t, "dave", cf.clock.now().Add(time.Minute))
	daveSection := strings.TrimPrefix(cf.file(t), withAlice)
	cf.clock.add(time.Hour)
	cf.m.ExpireClients(cf.ctx)
	if cs, _ := cf.m.Clients("wg0"); !findClient(cs, d.PublicKey).Disabled {
		t.Fatalf("dave did not expire: %+v", cs)
	}
	// dave's section put back by hand: enabled, no longer expiring.
	if _, err := cf.m.Update(cf.ctx, "wg0", []byte(cf.file(t)+daveSection)); err != nil {
		t.Fatal(err)
	}
	cf.m.ExpireClients(cf.ctx)
	cs, _ := cf.m.Clients("wg0")
	if got := findClient(cs, d.PublicKey); got.Disabled || !got.Expires.IsZero() || got.PublicKey != d.PublicKey {
		t.Errorf("dave, put back by hand: %+v", got)
	}
	if strings.Count(cf.file(t), d.PublicKey.String()) != 1 {
		t.Error("dave's section is not in the file once")
	}
	// Both edited out: forgotten.
	if _, err := cf.m.Update(cf.ctx, "wg0", []byte(cf.original)); err != nil {
		t.Fatal(err)
	}
	cf.m.ExpireClients(cf.ctx)
	if cs, _ := cf.m.Clients("wg0"); len(cs) != 0 {
		t.Errorf("clients edited out are still listed: %+v", cs)
	}
	if _, err := cf.m.DisableClient(cf.ctx, "wg0", c.PublicKey); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("disabling a forgotten client: %v", err)
	}
	state, _ := os.ReadFile(filepath.Join(cf.state, "clients.json"))
	if strings.Contains(string(state), c.PublicKey.String()) || strings.Contains(string(state), d.PublicKey.String()) {
		t.Errorf("forgotten clients are still in clients.json:\n%s", state)
	}
}

// Deleting a tunnel forgets its clients and settings.
func TestDeleteTunnelDropsClients(t *testing.T) {
	cf := newClientFixture(t)
	c, _ := cf.add(t, "alice", time.Time{})
	cf.m.DisableClient(cf.ctx, "wg0", c.PublicKey)
	if _, err := cf.m.Delete(cf.ctx, "wg0"); err != nil {
		t.Fatal(err)
	}
	state, _ := os.ReadFile(filepath.Join(cf.state, "clients.json"))
	if strings.Contains(string(state), "wg0") {
		t.Errorf("clients.json still knows the deleted tunnel:\n%s", state)
	}
}
