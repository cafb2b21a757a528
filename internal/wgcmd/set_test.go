package wgcmd

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

const (
	privB64 = "CM/YZGRFE/7si3qaMhDtfTcjzypgP291Wmm7kJk5V10="
	pubB64  = "tstK29LF3N9D8e34YiZkN1ZOA3/34hPmoQFwBs38d14="
	pub2B64 = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
	pskB64  = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
)

func ptr[T any](v T) *T { return &v }

func hexFile(t testing.TB, b64 string) string {
	k := mustKey(t, b64)
	return "hex:" + hex.EncodeToString(k[:])
}

func TestParseSetArgs(t *testing.T) {
	priv := noise.PrivateKey(mustKey(t, privB64))
	psk := noise.PresharedKey(mustKey(t, pskB64))
	pub, pub2 := noise.PublicKey(mustKey(t, pubB64)), noise.PublicKey(mustKey(t, pub2B64))
	pfx := netip.MustParsePrefix
	tests := []struct {
		name    string
		args    []string
		want    *wgtypes.Config
		wantErr string
	}{
		{"listen port", []string{"listen-port", "51820"}, &wgtypes.Config{ListenPort: ptr[uint16](51820)}, ""},
		{"fwmark hex and port", []string{"fwmark", "0x10", "listen-port", "0"}, &wgtypes.Config{FwMark: ptr[uint32](16), ListenPort: ptr[uint16](0)}, ""},
		{"fwmark off", []string{"fwmark", "off"}, &wgtypes.Config{FwMark: ptr[uint32](0)}, ""},
		{"private key", []string{"private-key", hexFile(t, privB64)}, &wgtypes.Config{PrivateKey: &priv}, ""},
		{"private key removed", []string{"private-key", ""}, &wgtypes.Config{PrivateKey: new(noise.PrivateKey)}, ""},
		{"peer with everything", []string{"peer", pubB64, "preshared-key", hexFile(t, pskB64), "endpoint", "peer.example:51820",
			"persistent-keepalive", "25", "allowed-ips", "10.0.0.0/8, fd00::/64", "allowed-ips", "192.168.0.1"},
			&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub, PresharedKey: &psk,
				Endpoint: ptr(netip.MustParseAddrPort("198.51.100.7:51820")), PersistentKeepaliveInterval: ptr[uint16](25),
				ReplaceAllowedIPs: true, AllowedIPs: []netip.Prefix{pfx("10.0.0.0/8"), pfx("fd00::/64"), pfx("192.168.0.1/32")}}}}, ""},
		{"empty allowed ips clears", []string{"peer", pubB64, "allowed-ips", ""},
			&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub, ReplaceAllowedIPs: true}}}, ""},
		{"incremental allowed ips", []string{"peer", pubB64, "allowed-ips", "+10.1.0.0/16, -10.2.0.0/16,10.3.0.0/16", "allowed-ips", "-fd00::/64"},
			&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub,
				AllowedIPs:       []netip.Prefix{pfx("10.1.0.0/16"), pfx("10.3.0.0/16")},
				RemoveAllowedIPs: []netip.Prefix{pfx("10.2.0.0/16"), pfx("fd00::/64")}}}}, ""},
		{"incremental entry without prefix", []string{"peer", pubB64, "allowed-ips", "10.1.0.0/16,+"}, nil, "Unable to parse IP address: `'"},
		{"incremental bad prefix", []string{"peer", pubB64, "allowed-ips", "-10.1.0.0/40"}, nil, "AllowedIP is not in the correct format: `10.1.0.0/40'"},
		{"remove and second peer", []string{"peer", pubB64, "remove", "peer", pub2B64, "endpoint", "[::1]:5", "persistent-keepalive", "off"},
			&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub, Remove: true},
				{PublicKey: pub2, Endpoint: ptr(netip.MustParseAddrPort("[::1]:5")), PersistentKeepaliveInterval: ptr[uint16](0)}}}, ""},
		{"v6 hostname", []string{"peer", pubB64, "endpoint", "v6.example:1"},
			&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub, Endpoint: ptr(netip.MustParseAddrPort("[2001:db8::6]:1"))}}}, ""},
		{"unknown option", []string{"bogus", "1"}, nil, "Invalid argument: bogus"},
		{"option without value", []string{"listen-port"}, nil, "Invalid argument: listen-port"},
		{"device option after peer", []string{"peer", pubB64, "listen-port", "1"}, nil, "Invalid argument: listen-port"},
		{"peer option before peer", []string{"endpoint", "1.2.3.4:5"}, nil, "Invalid argument: endpoint"},
		{"remove before peer", []string{"remove"}, nil, "Invalid argument: remove"},
		{"stray key not echoed", []string{privB64}, nil, "Invalid argument: (a base64 key; keys are given in files)"},
		{"bad peer key", []string{"peer", "abc"}, nil, "Key is not the correct length or format"},
		{"bad port", []string{"listen-port", "x"}, nil, "Servname not supported for ai_socktype: `x'"},
		{"bad fwmark", []string{"fwmark", "0xZZ"}, nil, "Fwmark is neither 0/off nor 0-0xffffffff: `0xZZ'"},
		{"bad keepalive", []string{"peer", pubB64, "persistent-keepalive", "65536"}, nil, "Persistent keepalive interval is neither 0/off nor 1-65535: `65536'"},
		{"bad allowed ip", []string{"peer", pubB64, "allowed-ips", "10.0.0.1/33"}, nil, "AllowedIP is not in the correct format: `10.0.0.1/33'"},
		{"endpoint no port", []string{"peer", pubB64, "endpoint", "peer.example"}, nil, "Unable to find port of endpoint: `peer.example'"},
		{"endpoint unknown host", []string{"peer", pubB64, "endpoint", "nope.example:1"}, nil, "Name or service not known: `nope.example:1'"},
		{"missing key file", []string{"private-key", "/nonexistent"}, nil, "fopen: No such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEnv(nil, goldenNow)
			got, err := te.parseSetArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSetCommand(t *testing.T) {
	te := newTestEnv(nil, goldenNow)
	te.devs.add("wg0", &wgtypes.Device{})
	if code := te.run("", "set", "wg0", "listen-port", "5", "peer", pubB64, "allowed-ips", "10.1.0.0/8"); code != 0 {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	if got := te.stderr.String(); got != "Warning: AllowedIP has nonzero host part: 10.1.0.0/8\n" {
		t.Errorf("stderr %q", got)
	}
	if n := len(te.devs.sets["wg0"]); n != 1 {
		t.Fatalf("%d sets applied, want 1", n)
	}
	if code := te.run("", "set", "wg1", "listen-port", "5"); code != 1 || te.stderr.String() != "Unable to modify interface: No such device\n" {
		t.Errorf("missing interface: exit %d, stderr %q", code, te.stderr)
	}
	te.devs.setErr = &uapi.Error{Errno: 22}
	if code := te.run("", "set", "wg0", "listen-port", "5"); code != 1 || te.stderr.String() != "Unable to modify interface: Invalid argument\n" {
		t.Errorf("EINVAL: exit %d, stderr %q", code, te.stderr)
	}
	te.devs.setErr = &uapi.Error{Errno: 98}
	if code := te.run("", "set", "wg0", "listen-port", "5"); code != 1 || te.stderr.String() != "Unable to modify interface: Address already in use\n" {
		t.Errorf("EADDRINUSE: exit %d, stderr %q", code, te.stderr)
	}
}

func TestEndpointRetries(t *testing.T) {
	for _, tt := range []struct {
		name    string
		value   *string
		want    int
		wantErr bool
	}{
		{"unset", nil, conf.DefaultRetries, false},
		{"number", ptr("3"), 3, false},
		{"infinity", ptr("infinity"), -1, false},
		{"empty", ptr(""), 0, false},
		{"negative", ptr("-1"), 0, true},
		{"word", ptr("many"), 0, true},
		{"too big", ptr("99999999999"), 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			if tt.value != nil {
				vars["WG_ENDPOINT_RESOLUTION_RETRIES"] = *tt.value
			}
			te := newTestEnv(vars, goldenNow)
			got, err := te.retries()
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("retries() = %d, %v; want %d (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSetconf(t *testing.T) {
	dir := t.TempDir()
	write := func(content string) string {
		f, err := os.CreateTemp(dir, "*.conf")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.WriteString(content)
		return f.Name()
	}
	pub, pub2 := noise.PublicKey(mustKey(t, pubB64)), noise.PublicKey(mustKey(t, pub2B64))
	psk := noise.PresharedKey(mustKey(t, pskB64))
	file := write("[Interface]\nListenPort = 7\n[Peer]\nPublicKey = " + pubB64 + "\nEndpoint = peer.example:9\nAllowedIPs = 10.0.0.0/8\n")
	running := &wgtypes.Device{Peers: []wgtypes.Peer{
		{PublicKey: pub, PresharedKey: psk, PersistentKeepaliveInterval: 25},
		{PublicKey: pub2},
	}}
	peer := wgtypes.PeerConfig{PublicKey: pub, Endpoint: ptr(netip.MustParseAddrPort("198.51.100.7:9")),
		ReplaceAllowedIPs: true, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	synced := peer
	synced.PresharedKey = new(noise.PresharedKey)
	tests := []struct {
		cmd  string
		want *wgtypes.Config
	}{
		{"setconf", &wgtypes.Config{PrivateKey: new(noise.PrivateKey), ListenPort: ptr[uint16](7), FwMark: ptr[uint32](0),
			ReplacePeers: true, Peers: []wgtypes.PeerConfig{peer}}},
		{"addconf", &wgtypes.Config{ListenPort: ptr[uint16](7), Peers: []wgtypes.PeerConfig{peer}}},
		{"syncconf", &wgtypes.Config{PrivateKey: new(noise.PrivateKey), ListenPort: ptr[uint16](7), FwMark: ptr[uint32](0),
			Peers: []wgtypes.PeerConfig{{PublicKey: pub2, Remove: true}, synced}}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			te := newTestEnv(nil, goldenNow)
			te.devs.add("wg0", running)
			if code := te.run("", tt.cmd, "wg0", file); code != 0 {
				t.Fatalf("exit %d: %s", code, te.stderr)
			}
			sets := te.devs.sets["wg0"]
			if len(sets) != 1 || !reflect.DeepEqual(sets[0], tt.want) {
				t.Errorf("applied %+v\nwant %+v", sets, tt.want)
			}
		})
	}

	errorCases := []struct {
		name    string
		content string
		stderr  string
	}{
		{"quick key", "[Interface]\nAddress = 10.0.0.1/24\n", ":2: Line unrecognized: `Address' is a wg-quick key, which wg does not accept\nConfiguration parsing error\n"},
		{"missing public key", "[Peer]\nAllowedIPs = 10.0.0.1/32\n", ":1: A peer is missing a public key\nInvalid configuration\n"},
		{"unresolvable", "[Peer]\nPublicKey = " + pubB64 + "\nEndpoint = nope.example:1\n", "Name or service not known: `nope.example:1'\nConfiguration parsing error\n"},
	}
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEnv(nil, goldenNow)
			te.devs.add("wg0", &wgtypes.Device{})
			path := write(tt.content)
			if code := te.run("", "setconf", "wg0", path); code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.HasSuffix(te.stderr.String(), tt.stderr) {
				t.Errorf("stderr %q, want suffix %q", te.stderr, tt.stderr)
			}
			if len(te.devs.sets["wg0"]) != 0 {
				t.Error("configuration applied despite the error")
			}
		})
	}
}

// formatSetArgs renders cfg back into wg set arguments, with key files in
// fakeKeyFile's form.
func formatSetArgs(cfg *wgtypes.Config) []string {
	var args []string
	if cfg.ListenPort != nil {
		args = append(args, "listen-port", fmt.Sprint(*cfg.ListenPort))
	}
	if cfg.FwMark != nil {
		args = append(args, "fwmark", fmt.Sprint(*cfg.FwMark))
	}
	keyFile := func(k []byte) string {
		if isZero(k) {
			return ""
		}
		return "hex:" + hex.EncodeToString(k)
	}
	if cfg.PrivateKey != nil {
		args = append(args, "private-key", keyFile(cfg.PrivateKey[:]))
	}
	for _, p := range cfg.Peers {
		args = append(args, "peer", p.PublicKey.String())
		if p.Remove {
			args = append(args, "remove")
		}
		if p.PresharedKey != nil {
			args = append(args, "preshared-key", keyFile(p.PresharedKey[:]))
		}
		if p.Endpoint != nil {
			args = append(args, "endpoint", conf.FormatEndpoint(*p.Endpoint))
		}
		if p.PersistentKeepaliveInterval != nil {
			args = append(args, "persistent-keepalive", fmt.Sprint(*p.PersistentKeepaliveInterval))
		}
		if p.ReplaceAllowedIPs {
			var ips []string
			for _, a := range p.AllowedIPs {
				ips = append(ips, conf.FormatPrefix(a))
			}
			args = append(args, "allowed-ips", strings.Join(ips, ","))
		}
	}
	return args
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// FuzzSetArgs feeds wg set argument lists (one per line) to the parser:
// it must never panic, must fail only with a message, and what it accepts
// must survive being written back as arguments and parsed again.
func FuzzSetArgs(f *testing.F) {
	priv := mustKey(f, privB64)
	f.Add("listen-port\n51820\nfwmark\n0x10\nprivate-key\nhex:" + hex.EncodeToString(priv[:]))
	f.Add("peer\n" + pubB64 + "\nendpoint\n[::1]:5\nallowed-ips\n10.0.0.0/8,::/0\npersistent-keepalive\n25")
	f.Add("peer\n" + pubB64 + "\nremove\npeer\n" + pub2B64 + "\nallowed-ips\n\npreshared-key\n")
	f.Add("peer\n" + pubB64 + "\nendpoint\npeer.example:1\nallowed-ips\n 10.0.0.1 / 8 ")
	f.Fuzz(func(t *testing.T, in string) {
		args := strings.Split(in, "\n")
		te := newTestEnv(nil, goldenNow)
		cfg, err := te.parseSetArgs(args)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		again, err := te.parseSetArgs(formatSetArgs(cfg))
		if err != nil {
			t.Fatalf("re-parsing %q: %v", formatSetArgs(cfg), err)
		}
		if !reflect.DeepEqual(cfg, again) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", cfg, again)
		}
	})
}

func TestSetconfMissingFile(t *testing.T) {
	te := newTestEnv(nil, goldenNow)
	if code := te.run("", "setconf", "wg0", filepath.Join(t.TempDir(), "none.conf")); code != 1 || te.stderr.String() != "fopen: No such file or directory\n" {
		t.Errorf("exit %d, stderr %q", code, te.stderr)
	}
	if !errors.Is(&argError{err: ErrInvalidArgument}, ErrInvalidArgument) {
		t.Error("argError does not match ErrInvalidArgument")
	}
}
