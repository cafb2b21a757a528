package quick

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/conf"
)

const (
	testPriv = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
	testPub  = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
	testPub2 = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
)

func parse(t *testing.T, text string) *conf.File {
	t.Helper()
	f, err := conf.Parse("test.conf", []byte(text), conf.Options{Quick: true})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return f
}

func prefixes(ss ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range ss {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

func TestNewPlan(t *testing.T) {
	lookup := func(name string) (int, bool) { return 1234, name == "vpn" }
	tests := []struct {
		name       string
		iface      string
		text       string
		want       Plan
		wantPolicy bool
		wantErr    error
	}{{
		name:  "full tunnel",
		iface: "wg0",
		text: `[Interface]
PrivateKey = ` + testPriv + `
Address = 10.0.0.2/24, fd00::2/64
DNS = 1.1.1.1, corp.example, 2606:4700:4700::1111
PostUp = echo up %i %i
PreDown = echo down %i
[Peer]
PublicKey = ` + testPub + `
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = vpn.example.com:51820
`,
		want: Plan{
			Interface: "wg0",
			Addresses: prefixes("10.0.0.2/24", "fd00::2/64"),
			Table:     TableAuto,
			Routes:    prefixes("::/0", "0.0.0.0/0"),
			DNS:       []netip.Addr{netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("2606:4700:4700::1111")},
			DNSSearch: []string{"corp.example"},
			PostUp:    []string{"echo up wg0 wg0"},
			PreDown:   []string{"echo down wg0"},
		},
		wantPolicy: true,
	}, {
		name:  "split tunnel: masked, deduplicated, most specific first",
		iface: "office",
		text: `[Interface]
Address = 10.0.0.2
MTU = 1380
Table = auto
[Peer]
PublicKey = ` + testPub + `
AllowedIPs = 10.0.0.1/24, 192.168.7.9/32
[Peer]
PublicKey = ` + testPub2 + `
AllowedIPs = 10.0.0.0/24, fd00::/8, 172.16.0.0/12
`,
		want: Plan{
			Interface: "office",
			Addresses: prefixes("10.0.0.2/32"),
			MTU:       1380,
			Table:     TableAuto,
			Routes:    prefixes("192.168.7.9/32", "10.0.0.0/24", "172.16.0.0/12", "fd00::/8"),
		},
	}, {
		name:  "table off",
		iface: "wg1",
		text:  "[Interface]\nTable = off\n[Peer]\nPublicKey = " + testPub + "\nAllowedIPs = 0.0.0.0/0\n",
		want:  Plan{Interface: "wg1", Table: TableOff, Routes: prefixes("0.0.0.0/0")},
	}, {
		name:  "table number",
		iface: "wg1",
		text:  "[Interface]\nTable = 1000\n[Peer]\nPublicKey = " + testPub + "\nAllowedIPs = 0.0.0.0/0\n",
		want:  Plan{Interface: "wg1", Table: TableFixed, TableID: 1000, Routes: prefixes("0.0.0.0/0")},
	}, {
		name:  "table main",
		iface: "wg1",
		text:  "[Interface]\nTable = main\n",
		want:  Plan{Interface: "wg1", Table: TableFixed, TableID: TableMain},
	}, {
		name:  "table name from rt_tables",
		iface: "wg1",
		text:  "[Interface]\nTable = vpn\n",
		want:  Plan{Interface: "wg1", Table: TableFixed, TableID: 1234},
	}, {
		name:    "unknown table name",
		iface:   "wg1",
		text:    "[Interface]\nTable = nosuch\n",
		wantErr: conf.ErrInvalidValue,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan(tt.iface, parse(t, tt.text), lookup)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			norm := func(p *Plan) {
				for _, s := range []*[]string{&p.PreUp, &p.PostUp, &p.PreDown, &p.PostDown, &p.DNSSearch} {
					if len(*s) == 0 {
						*s = nil
					}
				}
			}
			norm(p)
			norm(&tt.want)
			if got, want := *p, tt.want; !plansEqual(got, want) {
				t.Errorf("plan\n got %+v\nwant %+v", got, want)
			}
			if got := p.PolicyRoutes(); got != tt.wantPolicy {
				t.Errorf("PolicyRoutes = %v, want %v", got, tt.wantPolicy)
			}
		})
	}
}

func plansEqual(a, b Plan) bool {
	return a.Interface == b.Interface && slices.Equal(a.Addresses, b.Addresses) && a.MTU == b.MTU &&
		a.Table == b.Table && a.TableID == b.TableID && slices.Equal(a.Routes, b.Routes) &&
		slices.Equal(a.DNS, b.DNS) && slices.Equal(a.DNSSearch, b.DNSSearch) &&
		slices.Equal(a.PreUp, b.PreUp) && slices.Equal(a.PostUp, b.PostUp) &&
		slices.Equal(a.PreDown, b.PreDown) && slices.Equal(a.PostDown, b.PostDown)
}

func TestAutoMTU(t *testing.T) {
	tests := []struct {
		name      string
		endpoints []int
		def       int
		want      int
	}{
		{"no endpoints, no default route", nil, 0, 1420},
		{"default route", nil, 9000, 8920},
		{"largest endpoint route wins", []int{1500, 1280, 9000}, 1400, 8920},
		{"endpoint beats default", []int{1400}, 9000, 1320},
		{"unknown endpoint MTUs fall back", []int{0, 0}, 1500, 1420},
	}
	for _, tt := range tests {
		if got := AutoMTU(tt.endpoints, tt.def); got != tt.want {
			t.Errorf("%s: AutoMTU(%v, %d) = %d, want %d", tt.name, tt.endpoints, tt.def, got, tt.want)
		}
	}
}

func TestNftScript(t *testing.T) {
	got := NftScript("wg0", "ip6", 51820, []netip.Addr{netip.MustParseAddr("fd00::2"), netip.MustParseAddr("fe80::1%wg0")})
	want := `add table ip6 wg-quick-wg0
add chain ip6 wg-quick-wg0 preraw { type filter hook prerouting priority -300; }
add chain ip6 wg-quick-wg0 premangle { type filter hook prerouting priority -150; }
add chain ip6 wg-quick-wg0 postmangle { type filter hook postrouting priority -150; }
add rule ip6 wg-quick-wg0 preraw iifname != "wg0" ip6 daddr fd00::2 fib saddr type != local drop
add rule ip6 wg-quick-wg0 preraw iifname != "wg0" ip6 daddr fe80::1 fib saddr type != local drop
add rule ip6 wg-quick-wg0 postmangle meta l4proto udp mark 51820 ct mark set mark 
add rule ip6 wg-quick-wg0 premangle meta l4proto udp meta mark set ct mark 
`
	if got != want {
		t.Errorf("NftScript:\n%s\nwant:\n%s", got, want)
	}
}

func TestIptablesScript(t *testing.T) {
	got := IptablesScript("wg0", 51820, []netip.Addr{netip.MustParseAddr("10.0.0.2")})
	want := `*raw
-I PREROUTING ! -i wg0 -d 10.0.0.2 -m addrtype ! --src-type LOCAL -j DROP -m comment --comment "wg-quick(8) rule for wg0"
COMMIT
*mangle
-I POSTROUTING -m mark --mark 51820 -p udp -j CONNMARK --save-mark -m comment --comment "wg-quick(8) rule for wg0"
-I PREROUTING -p udp -j CONNMARK --restore-mark -m comment --comment "wg-quick(8) rule for wg0"
COMMIT
`
	if got != want {
		t.Errorf("IptablesScript:\n%s\nwant:\n%s", got, want)
	}
}

func TestResolvConf(t *testing.T) {
	p := &Plan{DNS: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")}, DNSSearch: []string{"a.example", "b.example"}}
	want := "nameserver 10.0.0.1\nnameserver fd00::1\nsearch a.example b.example\n"
	if got := p.ResolvConf(); got != want {
		t.Errorf("ResolvConf = %q, want %q", got, want)
	}
}

func runMain(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Main("wg-quick", args, strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

func TestMainUsage(t *testing.T) {
	if code, out, _ := runMain("--help"); code != 0 || !strings.Contains(out, "Usage: wg-quick [ up | down | save | strip ]") {
		t.Errorf("--help: code %d, output %q", code, out)
	}
	for _, args := range [][]string{nil, {"up"}, {"sideways", "wg0"}, {"up", "a", "b"}} {
		if code, _, errOut := runMain(args...); code != 1 || !strings.Contains(errOut, "Usage:") {
			t.Errorf("%q: code %d, stderr %q; want usage and 1", args, code, errOut)
		}
	}
}

func TestStrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wg7.conf")
	text := `# a comment
[Interface]
Address = 10.0.0.2/24
DNS = 1.1.1.1
PrivateKey = ` + testPriv + `
ListenPort = 51820
PostUp = echo hi
SaveConfig = true

[Peer]
PublicKey = ` + testPub + `
AllowedIPs = 0.0.0.0/0
Endpoint = vpn.example.com:51820
`
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMain("strip", path)
	if code != 0 {
		t.Fatalf("strip: code %d, stderr %q", code, errOut)
	}
	// As wg-quick strip: every other line kept as it is, in its place, and
	// echo's newline at the end.
	want := "# a comment\n[Interface]\nPrivateKey = " + testPriv + "\nListenPort = 51820\n\n[Peer]\nPublicKey = " + testPub +
		"\nAllowedIPs = 0.0.0.0/0\nEndpoint = vpn.example.com:51820\n\n"
	if out != want {
		t.Errorf("strip output:\n%s\nwant:\n%s", out, want)
	}
	// What strip prints is accepted by wg setconf's parser.
	if _, err := conf.Parse("stripped", []byte(out), conf.Options{}); err != nil {
		t.Errorf("stripped output does not parse for wg: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "this-name-is-far-too-long.conf")
	os.WriteFile(bad, []byte("[Interface]\n"), 0o600)
	noSuffix := filepath.Join(dir, "wg0.txt")
	os.WriteFile(noSuffix, []byte("[Interface]\n"), 0o600)
	dot := filepath.Join(dir, "..conf")
	os.WriteFile(dot, []byte("[Interface]\n"), 0o600)
	dash := filepath.Join(dir, "-x.conf")
	os.WriteFile(dash, []byte("[Interface]\n"), 0o600)
	broken := filepath.Join(dir, "wg9.conf")
	os.WriteFile(broken, []byte("[Interface]\nAddress = 10.0.0.300/24\n"), 0o600)
	e := &env{prog: "wg-quick", stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }}
	tests := []struct {
		operand string
		want    error
	}{
		{filepath.Join(dir, "missing.conf"), ErrNoConfig},
		{bad, ErrBadName},
		{noSuffix, ErrBadName},
		{dot, ErrBadName},
		{dash, ErrBadName},
		{broken, conf.ErrInvalidValue},
	}
	for _, tt := range tests {
		if _, err := e.load(tt.operand); !errors.Is(err, tt.want) {
			t.Errorf("load(%s) = %v, want %v", tt.operand, err, tt.want)
		}
	}
	var pe *conf.ParseError
	if _, err := e.load(broken); !errors.As(err, &pe) || pe.Line != 2 {
		t.Errorf("load(broken) = %v, want a ParseError at line 2", err)
	}
}

func TestWorldReadableWarning(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "wg5.conf")
	os.WriteFile(path, []byte("[Interface]\n"), 0o644)
	os.Chmod(path, 0o644)
	var errOut bytes.Buffer
	e := &env{prog: "wg-quick", stdout: &bytes.Buffer{}, stderr: &errOut, getenv: func(string) string { return "" }}
	c, err := e.load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Interface != "wg5" {
		t.Errorf("interface = %q, want wg5", c.Interface)
	}
	if conf.CheckPermissions(path) != "" && !strings.Contains(errOut.String(), "world accessible") {
		t.Errorf("no warning for a world-readable file; stderr %q", errOut.String())
	}
}

func TestLoadByName(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(second, "wg4.conf"), []byte("[Interface]\nAddress = 10.0.0.4/32\n"), 0o600)
	os.WriteFile(filepath.Join(first, "wg5.conf"), []byte("[Interface]\n"), 0o600)
	os.WriteFile(filepath.Join(second, "wg5.conf"), []byte("[Interface]\nAddress = 10.0.0.5/32\n"), 0o600)
	e := &env{prog: "wg-quick", stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" },
		searchPaths: []string{first, second}}
	c, err := e.load("wg4")
	if err != nil || c.Interface != "wg4" || len(c.File.Interface.Addresses) != 1 {
		t.Errorf("load(wg4) = %+v, %v", c, err)
	}
	// The first directory holding the name wins.
	if c, err := e.load("wg5"); err != nil || len(c.File.Interface.Addresses) != 0 {
		t.Errorf("load(wg5) = %+v, %v; want the file in the first directory", c, err)
	}
	if _, err := e.load("wg6"); !errors.Is(err, ErrNoConfig) {
		t.Errorf("load(wg6) = %v, want ErrNoConfig", err)
	}
}
