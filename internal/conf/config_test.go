package conf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// fakeLookup answers from a table; names mapped to an error fail with it.
type fakeLookup struct {
	addrs map[string][]netip.Addr
	errs  map[string][]error // consumed one per call
	calls int
}

func (f *fakeLookup) lookup(_ context.Context, host string) ([]netip.Addr, error) {
	f.calls++
	if errs := f.errs[host]; len(errs) > 0 {
		f.errs[host] = errs[1:]
		return nil, errs[0]
	}
	if a, ok := f.addrs[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestResolve(t *testing.T) {
	temp := &net.DNSError{Err: "server misbehaving", Name: "flaky.example", IsTemporary: true}
	tests := []struct {
		name      string
		endpoint  string
		retries   int
		errs      []error
		want      string
		wantErr   string
		wantWarns int
		wantSleep []time.Duration
	}{
		{name: "v4 literal", endpoint: "192.0.2.1:51820", want: "192.0.2.1:51820"},
		{name: "v6 literal", endpoint: "[2001:db8::1]:1", want: "[2001:db8::1]:1"},
		{name: "bare v6 literal", endpoint: "2001:db8::1:1", want: "[2001:db8::1]:1"},
		{name: "hostname first address", endpoint: "peer.example:51820", want: "198.51.100.7:51820"},
		{name: "mapped answer unmapped", endpoint: "mapped.example:5", want: "192.0.2.9:5"},
		{name: "not found is permanent", endpoint: "nope.example:1", retries: 5,
			wantErr: "Name or service not known: `nope.example:1'"},
		{name: "transient retried", endpoint: "flaky.example:2", retries: 3, errs: []error{temp, temp},
			want: "203.0.113.3:2", wantWarns: 2, wantSleep: []time.Duration{time.Second, 1200 * time.Millisecond}},
		{name: "transient gives up", endpoint: "flaky.example:2", retries: 1, errs: []error{temp, temp, temp},
			wantErr: "Temporary failure in name resolution: `flaky.example:2'", wantWarns: 1, wantSleep: []time.Duration{time.Second}},
		{name: "no port", endpoint: "peer.example", wantErr: "Unable to find port of endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := &fakeLookup{
				addrs: map[string][]netip.Addr{
					"peer.example":   {netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::7")},
					"mapped.example": {netip.MustParseAddr("::ffff:192.0.2.9")},
					"flaky.example":  {netip.MustParseAddr("203.0.113.3")},
				},
				errs: map[string][]error{"flaky.example": tt.errs},
			}
			var warns []string
			var slept []time.Duration
			r := &Resolver{
				LookupNetIP: fl.lookup,
				Retries:     tt.retries,
				Sleep:       func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
				Warn:        func(s string) { warns = append(warns, s) },
			}
			got, err := r.Resolve(context.Background(), tt.endpoint)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve = %v, %v; want error containing %q", got, err, tt.wantErr)
				}
			} else if err != nil || got.String() != tt.want {
				t.Fatalf("Resolve = %v, %v; want %s", got, err, tt.want)
			}
			if len(warns) != tt.wantWarns {
				t.Errorf("warnings %q, want %d", warns, tt.wantWarns)
			}
			if !reflect.DeepEqual(slept, tt.wantSleep) {
				t.Errorf("slept %v, want %v", slept, tt.wantSleep)
			}
		})
	}
	t.Run("warning wording", func(t *testing.T) {
		var warns []string
		r := &Resolver{
			LookupNetIP: (&fakeLookup{errs: map[string][]error{"x": {temp}}, addrs: map[string][]netip.Addr{"x": {netip.MustParseAddr("1.2.3.4")}}}).lookup,
			Retries:     -1,
			Sleep:       func(context.Context, time.Duration) error { return nil },
			Warn:        func(s string) { warns = append(warns, s) },
		}
		if _, err := r.Resolve(context.Background(), "x:1"); err != nil {
			t.Fatal(err)
		}
		want := "Temporary failure in name resolution: `x:1'. Trying again in 1.00 seconds..."
		if len(warns) != 1 || warns[0] != want {
			t.Errorf("warnings %q, want [%q]", warns, want)
		}
	})
	t.Run("errors match ErrResolve", func(t *testing.T) {
		r := &Resolver{LookupNetIP: (&fakeLookup{}).lookup}
		if _, err := r.Resolve(context.Background(), "nope:1"); !errors.Is(err, ErrResolve) {
			t.Errorf("error %v does not match ErrResolve", err)
		}
	})
}

func TestWireGuardConfig(t *testing.T) {
	f, err := Parse("c", []byte("[Interface]\nListenPort=7\n[Peer]\nPublicKey="+pubB64+
		"\nEndpoint=peer.example:9\nAllowedIPs=10.0.0.0/8\nPersistentKeepalive=off\n[Peer]\nPublicKey="+pub2B64+"\nPresharedKey="+pskB64+"\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &Resolver{LookupNetIP: (&fakeLookup{addrs: map[string][]netip.Addr{"peer.example": {netip.MustParseAddr("192.0.2.1")}}}).lookup}
	psk := noise.PresharedKey(mustKey(t, pskB64))
	peers := []wgtypes.PeerConfig{
		{PublicKey: mustKey(t, pubB64), ReplaceAllowedIPs: true, AllowedIPs: []netip.Prefix{pfx("10.0.0.0/8")},
			Endpoint: ptr(netip.MustParseAddrPort("192.0.2.1:9")), PersistentKeepaliveInterval: ptr[uint16](0)},
		{PublicKey: mustKey(t, pub2B64), ReplaceAllowedIPs: true, PresharedKey: &psk},
	}
	t.Run("setconf replaces", func(t *testing.T) {
		got, err := f.WireGuardConfig(context.Background(), r, true)
		if err != nil {
			t.Fatal(err)
		}
		want := &wgtypes.Config{PrivateKey: new(noise.PrivateKey), ListenPort: ptr[uint16](7), FwMark: ptr[uint32](0), ReplacePeers: true, Peers: peers}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})
	t.Run("addconf appends", func(t *testing.T) {
		got, err := f.WireGuardConfig(context.Background(), r, false)
		if err != nil {
			t.Fatal(err)
		}
		want := &wgtypes.Config{ListenPort: ptr[uint16](7), Peers: peers}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})
	t.Run("resolution failure", func(t *testing.T) {
		_, err := f.WireGuardConfig(context.Background(), &Resolver{LookupNetIP: (&fakeLookup{}).lookup}, true)
		if !errors.Is(err, ErrResolve) {
			t.Errorf("error %v, want ErrResolve", err)
		}
	})
}

func TestSync(t *testing.T) {
	a, b, c := noise.PublicKey(mustKey(t, pubB64)), noise.PublicKey(mustKey(t, pub2B64)), noise.PublicKey(mustKey(t, pskB64))
	psk := noise.PresharedKey(mustKey(t, pskB64))
	have := &wgtypes.Device{Peers: []wgtypes.Peer{
		{PublicKey: a, PresharedKey: psk, PersistentKeepaliveInterval: 25},
		{PublicKey: c},
	}}
	tests := []struct {
		name string
		want *wgtypes.Config
		have *wgtypes.Device
		out  *wgtypes.Config
	}{
		{"file without peers keeps replacing",
			&wgtypes.Config{ReplacePeers: true}, have, &wgtypes.Config{ReplacePeers: true}},
		{"device without peers keeps replacing",
			&wgtypes.Config{ReplacePeers: true, Peers: []wgtypes.PeerConfig{{PublicKey: a}}}, &wgtypes.Device{},
			&wgtypes.Config{ReplacePeers: true, Peers: []wgtypes.PeerConfig{{PublicKey: a}}}},
		{"diff",
			&wgtypes.Config{ReplacePeers: true, Peers: []wgtypes.PeerConfig{{PublicKey: a}, {PublicKey: b}}}, have,
			&wgtypes.Config{Peers: []wgtypes.PeerConfig{
				{PublicKey: c, Remove: true},
				{PublicKey: a, PresharedKey: new(noise.PresharedKey)},
				{PublicKey: b}}}},
		{"kept settings untouched",
			&wgtypes.Config{ReplacePeers: true, Peers: []wgtypes.PeerConfig{{PublicKey: a, PresharedKey: &psk, PersistentKeepaliveInterval: ptr[uint16](5)}, {PublicKey: c}}}, have,
			&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: a, PresharedKey: &psk, PersistentKeepaliveInterval: ptr[uint16](5)}, {PublicKey: c}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			Sync(tt.want, tt.have)
			if !reflect.DeepEqual(tt.want, tt.out) {
				t.Errorf("got %+v\nwant %+v", tt.want, tt.out)
			}
		})
	}
}

// FromDevice then Write must print exactly what wg showconf prints.
func TestShowconfFormat(t *testing.T) {
	d := &wgtypes.Device{
		PrivateKey: mustKey(t, privB64),
		ListenPort: 51820,
		FwMark:     0x20,
		Peers: []wgtypes.Peer{
			{PublicKey: mustKey(t, pubB64), PresharedKey: mustKey(t, pskB64),
				Endpoint:   netip.MustParseAddrPort("[2001:db8::1]:51821"),
				AllowedIPs: []netip.Prefix{pfx("10.0.0.0/24"), pfx("::102:304/128")}, PersistentKeepaliveInterval: 25,
				RxBytes: 5, LastHandshakeTime: time.Unix(1e9, 0)},
			{PublicKey: mustKey(t, pub2B64), Endpoint: netip.MustParseAddrPort("192.0.2.1:1")},
		},
	}
	var buf bytes.Buffer
	if err := Write(&buf, FromDevice(d)); err != nil {
		t.Fatal(err)
	}
	want := "[Interface]\nListenPort = 51820\nFwMark = 0x20\nPrivateKey = " + privB64 + "\n\n" +
		"[Peer]\nPublicKey = " + pubB64 + "\nPresharedKey = " + pskB64 + "\nAllowedIPs = 10.0.0.0/24, ::1.2.3.4/128\n" +
		"Endpoint = [2001:db8::1]:51821\nPersistentKeepalive = 25\n\n" +
		"[Peer]\nPublicKey = " + pub2B64 + "\nEndpoint = 192.0.2.1:1\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	if err := Write(&buf, FromDevice(&wgtypes.Device{})); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "[Interface]\n\n" {
		t.Errorf("empty device: got %q", buf.String())
	}
}

func TestFormatAddr(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"1.2.3.4", "1.2.3.4"},
		{"::", "::"},
		{"::1", "::1"},
		{"::1.2.3.4", "::1.2.3.4"},
		{"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
		{"::1:0:0", "::1:0:0"},
		{"2001:db8::1", "2001:db8::1"},
		{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
	} {
		if got := FormatAddr(netip.MustParseAddr(tt.in)); got != tt.want {
			t.Errorf("FormatAddr(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestReadKey(t *testing.T) {
	priv := mustKey(t, privB64)
	tests := []struct {
		name    string
		in      string
		want    [32]byte
		wantErr string
	}{
		{"plain", privB64, priv, ""},
		{"trailing whitespace", privB64 + "\n \t\r\n", priv, ""},
		{"empty removes", "", [32]byte{}, ""},
		{"short", privB64[:20], [32]byte{}, "Invalid length key in key file"},
		{"only newline", "\n", [32]byte{}, "Invalid length key in key file"},
		{"trailing garbage", privB64 + "\nx", [32]byte{}, "Found trailing character in key file: `x'"},
		{"bad base64", strings.Repeat("!", 44), [32]byte{}, "Key is not the correct length or format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadKey(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrKeyFile) {
					t.Fatalf("ReadKey = %v; want error %q matching ErrKeyFile", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ReadKey = %x, %v", got, err)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := ReadKeyFile(filepath.Join(t.TempDir(), "nope"))
		if err == nil || err.Error() != "fopen: No such file or directory" || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("ReadKeyFile = %v", err)
		}
	})
}

func TestCheckPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("modes carry no access information on Windows")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "wg0.conf")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name          string
		file, dirMode os.FileMode
		warn          bool
	}{
		{"private file", 0o600, 0o755, false},
		{"world readable file in open dir", 0o644, 0o755, true},
		{"world readable file in closed dir", 0o644, 0o750, false},
		{"bits must overlap", 0o602, 0o755, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.Chmod(path, tt.file); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.dirMode); err != nil {
				t.Fatal(err)
			}
			got := CheckPermissions(path)
			real, _ := filepath.EvalSymlinks(path)
			want := ""
			if tt.warn {
				want = "Warning: `" + real + "' is world accessible"
			}
			if got != want {
				t.Errorf("CheckPermissions = %q, want %q", got, want)
			}
		})
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}

func TestValueParsers(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint32
		ok   bool
	}{{"0", 0, true}, {"off", 0, true}, {"Off", 0, true}, {"0x0", 0, true}, {"0xdeadBEEF", 0xdeadbeef, true}, {"010", 10, true},
		{"", 0, false}, {"0x", 0, false}, {"x1", 0, false}, {"1a", 0, false}, {"+1", 0, false}, {" 1", 0, false}} {
		got, err := ParseFwMark(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseFwMark(%q) = %d, %v", tt.in, got, err)
		}
	}
	for _, tt := range []struct {
		in   string
		want uint16
		ok   bool
	}{{"0", 0, true}, {"off", 0, true}, {"65535", 65535, true}, {"65536", 0, false}, {"-1", 0, false}, {"", 0, false}, {"0x10", 0, false}} {
		got, err := ParseKeepalive(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseKeepalive(%q) = %d, %v", tt.in, got, err)
		}
	}
	for _, tt := range []struct {
		in   string
		want uint16
		ok   bool
	}{{"0", 0, true}, {"51820", 51820, true}, {"65535", 65535, true}, {"+5", 5, true}, {"65536", 0, false}, {"", 0, false},
		{"-1", 0, false}, {"+", 0, false}, {"++5", 0, false}, {"no such service!", 0, false}} {
		got, err := ParsePort(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParsePort(%q) = %d, %v", tt.in, got, err)
		}
	}
	for _, tt := range []struct{ in, host, port string }{
		{"a:1", "a", "1"}, {"[::1]:2", "::1", "2"}, {"::1:3", "::1", "3"}, {"[fe80::1%eth0]:4", "fe80::1%eth0", "4"},
	} {
		h, p, err := SplitEndpoint(tt.in)
		if err != nil || h != tt.host || p != tt.port {
			t.Errorf("SplitEndpoint(%q) = %q, %q, %v", tt.in, h, p, err)
		}
	}
}

func TestResolveScopes(t *testing.T) {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		t.Skip("no network interfaces to scope addresses with")
	}
	ifi := ifs[0]
	r := &Resolver{}
	for _, tt := range []struct {
		name, endpoint, want string
	}{
		{"named scope kept", "[fe80::1%" + ifi.Name + "]:1", "[fe80::1%" + ifi.Name + "]:1"},
		{"index of link-local named", fmt.Sprintf("[fe80::1%%%d]:2", ifi.Index), "[fe80::1%" + ifi.Name + "]:2"},
		{"index of global kept", fmt.Sprintf("[2001:db8::1%%%d]:3", ifi.Index), fmt.Sprintf("[2001:db8::1%%%d]:3", ifi.Index)},
		{"unknown index kept", "[fe80::1%99999]:4", "[fe80::1%99999]:4"},
		{"unknown name", "[fe80::1%nosuchif0]:5", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Resolve(context.Background(), tt.endpoint)
			if tt.want == "" {
				if !errors.Is(err, ErrResolve) {
					t.Errorf("Resolve = %v, %v; want ErrResolve", got, err)
				}
				return
			}
			if err != nil || FormatEndpoint(got) != tt.want {
				t.Errorf("Resolve = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestResolveCanceled(t *testing.T) {
	timeout := &net.DNSError{Err: "i/o timeout", Name: "slow.example", IsTimeout: true}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	r := &Resolver{
		LookupNetIP: func(context.Context, string) ([]netip.Addr, error) {
			calls++
			cancel()
			return nil, timeout
		},
		Retries: -1, // forever, but for the context
	}
	_, err := r.Resolve(ctx, "slow.example:1")
	if !errors.Is(err, ErrResolve) || calls != 1 {
		t.Errorf("Resolve after cancel = %v after %d lookups", err, calls)
	}
	if err := sleepCtx(context.Background(), time.Millisecond); err != nil {
		t.Errorf("sleepCtx: %v", err)
	}
}
