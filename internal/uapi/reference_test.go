package uapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"
	"golang.zx2c4.com/wireguard/tun/tuntest"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// downTUN is a TUN that never comes up, so that the reference device never
// binds a random port: its answers then depend on the configuration only.
type downTUN struct {
	tun.Device
	events chan tun.Event
}

func (d downTUN) Events() <-chan tun.Event { return d.events }

// referenceDevice is wireguard-go's device, down, configured with set.
func referenceDevice(t *testing.T, set string) *device.Device { return referenceDeviceB(t, set) }

func referenceDeviceB(t testing.TB, set string) *device.Device {
	t.Helper()
	td := downTUN{Device: tuntest.NewChannelTUN().TUN(), events: make(chan tun.Event)}
	t.Cleanup(func() { close(td.events) }) // after dev.Close: ends its event reader
	dev := device.NewDevice(td, conn.NewStdNetBind(), device.NewLogger(device.LogLevelSilent, ""))
	t.Cleanup(dev.Close)
	if err := dev.IpcSet(set); err != nil {
		t.Fatalf("reference IpcSet: %v", err)
	}
	return dev
}

// applyToDevice is a minimal engine: it applies cfg to dev the way
// wireguard-go does, enough to compare snapshots.
func applyToDevice(dev *wgtypes.Device, cfg *wgtypes.Config) {
	if cfg.PrivateKey != nil {
		dev.PrivateKey = *cfg.PrivateKey
		dev.PublicKey = dev.PrivateKey.PublicKey()
	}
	if cfg.ListenPort != nil {
		dev.ListenPort = *cfg.ListenPort
	}
	if cfg.FwMark != nil {
		dev.FwMark = *cfg.FwMark
	}
	if cfg.ReplacePeers {
		dev.Peers = nil
	}
	for _, pc := range cfg.Peers {
		i := slices.IndexFunc(dev.Peers, func(p wgtypes.Peer) bool { return p.PublicKey == pc.PublicKey })
		if pc.Remove {
			if i >= 0 {
				dev.Peers = slices.Delete(dev.Peers, i, i+1)
			}
			continue
		}
		if i < 0 {
			if pc.UpdateOnly {
				continue
			}
			dev.Peers = append(dev.Peers, wgtypes.Peer{PublicKey: pc.PublicKey, ProtocolVersion: 1})
			i = len(dev.Peers) - 1
		}
		p := &dev.Peers[i]
		if pc.PresharedKey != nil {
			p.PresharedKey = *pc.PresharedKey
		}
		if pc.Endpoint != nil {
			p.Endpoint = *pc.Endpoint
		}
		if pc.PersistentKeepaliveInterval != nil {
			p.PersistentKeepaliveInterval = *pc.PersistentKeepaliveInterval
		}
		if pc.ReplaceAllowedIPs {
			p.AllowedIPs = nil
		}
		for _, pfx := range pc.RemoveAllowedIPs {
			p.AllowedIPs = slices.DeleteFunc(p.AllowedIPs, func(q netip.Prefix) bool { return q == pfx.Masked() })
		}
		for _, pfx := range pc.AllowedIPs {
			p.AllowedIPs = append(p.AllowedIPs, pfx.Masked())
		}
	}
}

// peerBlocks splits a get answer into the device part and one block per
// peer, the latter sorted: wireguard-go lists peers in map order.
func peerBlocks(s string) (string, []string) {
	parts := strings.Split(s, "public_key=")
	for i := 1; i < len(parts); i++ {
		parts[i] = "public_key=" + parts[i]
	}
	peers := parts[1:]
	slices.Sort(peers)
	return parts[0], peers
}

func TestWriteGetMatchesReference(t *testing.T) {
	priv := "private_key=" + hexOf(0x40) + "\n"
	peer1 := "public_key=" + hexOf(0x11) + "\n"
	peer2 := "public_key=" + hexOf(0x22) + "\n"
	tests := []struct {
		name string
		set  string
	}{
		{"empty", ""},
		{"device only", priv + "listen_port=51820\nfwmark=7\n"},
		{"fwmark off, port 0", priv + "listen_port=0\nfwmark=0\n"},
		{"peer without extras", priv + peer1},
		{"peer v4", priv + "listen_port=1\n" + peer1 +
			"preshared_key=" + hexOf(0x33) + "\nendpoint=192.0.2.1:51820\npersistent_keepalive_interval=25\nallowed_ip=10.0.0.0/8\n"},
		{"peer v6 endpoint", peer1 + "endpoint=[2001:db8::1]:443\nallowed_ip=2001:db8::/32\n"},
		{"v6 link-local endpoint with zone", peer1 + "endpoint=[fe80::1%eth0]:443\n"},
		{"v4-mapped endpoint", peer1 + "endpoint=[::ffff:192.0.2.1]:443\n"},
		{"non-canonical allowed_ip", peer1 + "allowed_ip=10.1.2.3/8\n"},
		{"two peers", priv + peer1 + "allowed_ip=10.0.0.1/32\n" + peer2 + "allowed_ip=::/0\nendpoint=127.0.0.1:1\n"},
		{"remove", peer1 + peer2 + "remove=true\n"},
		{"replace_peers", "replace_peers=true\n" + peer2},
		{"update_only of unknown peer", peer1 + "update_only=true\nallowed_ip=10.0.0.0/8\n"},
		{"replace_allowed_ips", peer1 + "allowed_ip=10.0.0.0/8\nreplace_allowed_ips=true\nallowed_ip=10.0.0.2/32\n"},
		{"remove one allowed_ip", peer1 + "allowed_ip=10.0.0.0/8\nallowed_ip=10.1.0.0/16\nallowed_ip=fd00::/64\n" +
			peer1 + "allowed_ip=-10.0.0.0/8\nallowed_ip=-fd00::/64\n"},
		{"remove a non-canonical allowed_ip", peer1 + "allowed_ip=10.1.0.0/16\nallowed_ip=10.2.0.0/16\n" + peer1 + "allowed_ip=-10.1.2.3/16\n"},
		{"remove an allowed_ip the peer lacks", peer1 + "allowed_ip=10.1.0.0/16\n" + peer1 + "allowed_ip=-10.9.0.0/16\nallowed_ip=-10.1.0.0/24\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := referenceDevice(t, tt.set).IpcGet()
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseSet(strings.NewReader(tt.set))
			if err != nil {
				t.Fatalf("ParseSet: %v", err)
			}
			var dev wgtypes.Device
			applyToDevice(&dev, cfg)
			var b strings.Builder
			if err := WriteGet(&b, &dev); err != nil {
				t.Fatal(err)
			}
			if len(dev.Peers) <= 1 {
				// One peer: byte for byte.
				if b.String() != ref {
					t.Errorf("WriteGet:\n%s\nreference IpcGet:\n%s", b.String(), ref)
				}
				return
			}
			gotDev, gotPeers := peerBlocks(b.String())
			refDev, refPeers := peerBlocks(ref)
			if gotDev != refDev || !slices.Equal(gotPeers, refPeers) {
				t.Errorf("WriteGet:\n%s\nreference IpcGet:\n%s", b.String(), ref)
			}
		})
	}
}

// TestParseGetReadsReference parses wireguard-go's own answer.
func TestParseGetReadsReference(t *testing.T) {
	set := "private_key=" + hexOf(0x40) + "\nlisten_port=9\nfwmark=3\npublic_key=" + hexOf(0x11) +
		"\npreshared_key=" + hexOf(0x33) + "\nendpoint=[2001:db8::1]:443\npersistent_keepalive_interval=5\nallowed_ip=10.0.0.0/8\nallowed_ip=fd00::/8\n"
	ref, err := referenceDevice(t, set).IpcGet()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := ParseGet(strings.NewReader(ref + "errno=0\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := ParseSet(strings.NewReader(set))
	var want wgtypes.Device
	applyToDevice(&want, cfg)
	if !equalDevice(dev, &want) {
		t.Errorf("ParseGet(reference) =\n%+v\nwant\n%+v", dev, &want)
	}
	if len(dev.Peers) != 1 || dev.Peers[0].AllowedIPs[1] != netip.MustParsePrefix("fd00::/8") {
		t.Errorf("allowed IPs = %v", dev.Peers)
	}
}

// TestParseSetErrnoMatchesReference feeds every malformed request to
// wireguard-go and checks that it answers with the same errno.
func TestParseSetErrnoMatchesReference(t *testing.T) {
	// Deliberate differences.
	skip := map[string]string{}
	for _, tt := range setErrorCases() {
		t.Run(tt.name, func(t *testing.T) {
			if why, ok := skip[tt.name]; ok {
				t.Skip(why)
			}
			td := downTUN{Device: tuntest.NewChannelTUN().TUN(), events: make(chan tun.Event)}
			defer close(td.events)
			dev := device.NewDevice(td, conn.NewStdNetBind(), device.NewLogger(device.LogLevelSilent, ""))
			defer dev.Close()
			err := dev.IpcSet(tt.in)
			var ipcErr *device.IPCError
			if !errors.As(err, &ipcErr) {
				t.Fatalf("reference IpcSet = %v, want an IPCError", err)
			}
			if got := -ipcErr.ErrorCode(); got != tt.errno {
				t.Errorf("reference errno = %d, ours = %d", got, tt.errno)
			}
		})
	}
}

// TestClientAgainstReference drives wireguard-go's own UAPI handler with
// Set and Get, several requests on one connection.
func TestClientAgainstReference(t *testing.T) {
	ref := referenceDevice(t, "")
	client, server := net.Pipe()
	defer client.Close()
	go ref.IpcHandle(server)

	priv := noise.PrivateKey(testKey(0x40)).Clamped()
	cfgs := []*wgtypes.Config{
		{PrivateKey: &priv, ListenPort: ptr[uint16](51820), FwMark: ptr[uint32](9), Peers: []wgtypes.PeerConfig{
			{PublicKey: pub1, PresharedKey: ptr(noise.PresharedKey(testKey(0x33))),
				Endpoint: ptr(netip.MustParseAddrPort("[2001:db8::1]:51820")), PersistentKeepaliveInterval: ptr[uint16](25),
				AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, ProtocolVersion: ptr(1)},
			{PublicKey: pub2, Endpoint: ptr(netip.MustParseAddrPort("192.0.2.1:1"))},
		}},
		{FwMark: ptr[uint32](0), Peers: []wgtypes.PeerConfig{
			{PublicKey: pub2, Remove: true},
			{PublicKey: pub1, ReplaceAllowedIPs: true, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("fd00::/64")}},
			{PublicKey: noise.PublicKey(testKey(0x55)), UpdateOnly: true},
		}},
	}
	var want wgtypes.Device
	for i, cfg := range cfgs {
		if err := Set(client, cfg); err != nil {
			t.Fatalf("Set %d: %v", i, err)
		}
		applyToDevice(&want, cfg)
		got, err := Get(client)
		if err != nil {
			t.Fatalf("Get %d: %v", i, err)
		}
		slices.SortFunc(got.Peers, func(a, b wgtypes.Peer) int { return bytes.Compare(a.PublicKey[:], b.PublicKey[:]) })
		if !equalDevice(got, &want) {
			t.Errorf("after Set %d: Get =\n%+v\nwant\n%+v", i, got, &want)
		}
	}
	// A request wireguard-go refuses comes back as its errno.
	if _, err := io.WriteString(client, "set=1\nlisten_port=x\n\n"); err != nil {
		t.Fatal(err)
	}
	answer := make([]byte, len("errno=-22\n\n"))
	if _, err := io.ReadFull(client, answer); err != nil || string(answer) != fmt.Sprintf("errno=%d\n\n", -errnoInvalid) {
		t.Errorf("reference answered %q, %v", answer, err)
	}
}
