package conf

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/noise"
)

// Keys used throughout the tests (generated with wg genkey / wg pubkey).
const (
	privB64 = "CM/YZGRFE/7si3qaMhDtfTcjzypgP291Wmm7kJk5V10="
	pubB64  = "tstK29LF3N9D8e34YiZkN1ZOA3/34hPmoQFwBs38d14="
	pub2B64 = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
	pskB64  = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
)

func mustKey(t testing.TB, s string) [32]byte {
	t.Helper()
	k, err := noise.ParseKey(s)
	if err != nil {
		t.Fatalf("ParseKey(%q): %v", s, err)
	}
	return k
}

func ptr[T any](v T) *T { return &v }

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestParseKeys(t *testing.T) {
	priv := noise.PrivateKey(mustKey(t, privB64))
	pub := noise.PublicKey(mustKey(t, pubB64))
	psk := noise.PresharedKey(mustKey(t, pskB64))
	tests := []struct {
		name  string
		quick bool
		in    string
		want  File
	}{
		{"empty", false, "", File{}},
		{"comments and blank lines", false, "# hi\n\n   \t\n[Interface] # trailing\n", File{}},
		{"private key", false, "[Interface]\nPrivateKey = " + privB64 + "\n", File{Interface: Interface{PrivateKey: &priv}}},
		{"listen port", false, "[Interface]\nListenPort = 51820\n", File{Interface: Interface{ListenPort: ptr[uint16](51820)}}},
		{"listen port zero", false, "[Interface]\nListenPort = 0\n", File{Interface: Interface{ListenPort: ptr[uint16](0)}}},
		{"fwmark decimal", false, "[Interface]\nFwMark = 1234\n", File{Interface: Interface{FwMark: ptr[uint32](1234)}}},
		{"fwmark hex", false, "[Interface]\nFwMark = 0xffffffff\n", File{Interface: Interface{FwMark: ptr[uint32](0xffffffff)}}},
		{"fwmark off", false, "[Interface]\nFwMark = OFF\n", File{Interface: Interface{FwMark: ptr[uint32](0)}}},
		{"case-insensitive keys and sections", false, "[interface]\nlistenport=5\n[PEER]\npublickey=" + pubB64 + "\n",
			File{Interface: Interface{ListenPort: ptr[uint16](5)}, Peers: []Peer{{PublicKey: pub}}}},
		{"whitespace anywhere, as wg", false, "[Inter face]\n Listen Port\t= 5 1\r\n",
			File{Interface: Interface{ListenPort: ptr[uint16](51)}}},
		{"repeated key overrides", false, "[Interface]\nListenPort = 1\nListenPort = 2\n", File{Interface: Interface{ListenPort: ptr[uint16](2)}}},
		{"two interface sections merge", false, "[Interface]\nListenPort = 1\n[Peer]\nPublicKey=" + pubB64 + "\n[Interface]\nFwMark=3\n",
			File{Interface: Interface{ListenPort: ptr[uint16](1), FwMark: ptr[uint32](3)}, Peers: []Peer{{PublicKey: pub}}}},
		{"full peer", false, "[Peer]\nPublicKey = " + pubB64 + "\nPresharedKey = " + pskB64 +
			"\nAllowedIPs = 10.0.0.0/8, fd00::/64\nAllowedIPs = 192.168.1.1\nEndpoint = [2001:db8::1]:51820\nPersistentKeepalive = 25\n",
			File{Peers: []Peer{{PublicKey: pub, PresharedKey: &psk,
				AllowedIPs:          []netip.Prefix{pfx("10.0.0.0/8"), pfx("fd00::/64"), pfx("192.168.1.1/32")},
				Endpoint:            "[2001:db8::1]:51820",
				PersistentKeepalive: ptr[uint16](25)}}}},
		{"hostname endpoint kept unresolved", false, "[Peer]\nPublicKey=" + pubB64 + "\nEndpoint = test.wireguard.com:18981\n",
			File{Peers: []Peer{{PublicKey: pub, Endpoint: "test.wireguard.com:18981"}}}},
		{"bare v6 endpoint split at last colon", false, "[Peer]\nPublicKey=" + pubB64 + "\nEndpoint = ::1:51820\n",
			File{Peers: []Peer{{PublicKey: pub, Endpoint: "::1:51820"}}}},
		{"keepalive off", false, "[Peer]\nPublicKey=" + pubB64 + "\nPersistentKeepalive = off\n",
			File{Peers: []Peer{{PublicKey: pub, PersistentKeepalive: ptr[uint16](0)}}}},
		{"host bits kept", false, "[Peer]\nPublicKey=" + pubB64 + "\nAllowedIPs = 10.1.2.3/8\n",
			File{Peers: []Peer{{PublicKey: pub, AllowedIPs: []netip.Prefix{pfx("10.1.2.3/8")}}}}},
		{"wg-quick keys", true, "[Interface]\nAddress = 10.0.0.1/24, fd00::1/64 10.0.0.2\nDNS = 1.1.1.1, 2606:4700::1111, example.com\n" +
			"MTU = 1420\nTable = off\nPreUp = echo a  b\nPostUp = iptables -A x; echo y\nPreDown = a\nPostDown = b\nSaveConfig = TRUE\nPrivateKey = " + privB64 + "\n",
			File{Interface: Interface{PrivateKey: &priv,
				Addresses: []netip.Prefix{pfx("10.0.0.1/24"), pfx("fd00::1/64"), pfx("10.0.0.2/32")},
				DNS:       []netip.Addr{netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("2606:4700::1111")},
				DNSSearch: []string{"example.com"}, MTU: 1420, Table: "off",
				PreUp: []string{"echo a  b"}, PostUp: []string{"iptables -A x; echo y"}, PreDown: []string{"a"}, PostDown: []string{"b"},
				SaveConfig: true}}},
		{"wg-quick hook keeps '=' and inner spaces", true, "[Interface]\nPostUp = a=b  c \n",
			File{Interface: Interface{PostUp: []string{"a=b  c"}}}},
		{"wg-quick empty values", true, "[Interface]\nAddress =\nMTU =\nTable =\nPreUp =\n", File{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("t.conf", []byte(tt.in), Options{Quick: tt.quick})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", *got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		quick    bool
		in       string
		line     int
		is       error
		contains string
	}{
		{"key before section", false, "ListenPort = 1\n", 1, ErrUnrecognized, "outside"},
		{"unknown section", false, "[Foo]\n", 1, ErrUnrecognized, "unknown section `[Foo]'"},
		{"garbage line", false, "[Interface]\n\nhello\n", 3, ErrUnrecognized, "Line unrecognized"},
		{"unknown interface key", false, "[Interface]\nFoo = bar\n", 2, ErrUnrecognized, "`Foo' is not a key of [Interface]"},
		{"peer key in interface", false, "[Interface]\nPublicKey = " + pubB64 + "\n", 2, ErrUnrecognized, "`PublicKey'"},
		{"interface key in peer", false, "[Peer]\nPublicKey = " + pubB64 + "\nListenPort = 1\n", 3, ErrUnrecognized, "not a key of [Peer]"},
		{"empty value", false, "[Interface]\nListenPort =\n", 2, ErrUnrecognized, "without a value"},
		{"empty allowed ips", false, "[Peer]\nPublicKey = " + pubB64 + "\nAllowedIPs =\n", 3, ErrUnrecognized, "without a value"},
		{"address without quick", false, "[Interface]\nAddress = 10.0.0.1/24\n", 2, ErrQuickOnly, "wg-quick key"},
		{"dns without quick", false, "[Interface]\nDNS = 1.1.1.1\n", 2, ErrQuickOnly, "wg-quick key"},
		{"mtu without quick", false, "[Interface]\nMTU = 1420\n", 2, ErrQuickOnly, ""},
		{"table without quick", false, "[Interface]\nTable = off\n", 2, ErrQuickOnly, ""},
		{"postup without quick", false, "[Interface]\nPostUp = true\n", 2, ErrQuickOnly, ""},
		{"saveconfig without quick", false, "[Interface]\nSaveConfig = true\n", 2, ErrQuickOnly, ""},
		{"quick key in peer", true, "[Peer]\nPublicKey = " + pubB64 + "\nAddress = 10.0.0.1\n", 3, ErrUnrecognized, ""},
		{"bad private key", false, "[Interface]\nPrivateKey = abc\n", 2, noise.ErrKeyFormat, "Key is not the correct length or format"},
		{"non-canonical key", false, "[Interface]\nPrivateKey = " + privB64[:42] + "B=\n", 2, noise.ErrKeyFormat, ""},
		{"bad public key", false, "[Peer]\nPublicKey = " + pubB64[:40] + "\n", 2, ErrInvalidValue, "Key is not"},
		{"bad psk", false, "[Peer]\nPublicKey = " + pubB64 + "\nPresharedKey = x\n", 3, ErrInvalidValue, ""},
		{"port not a number", false, "[Interface]\nListenPort = 5x\n", 2, ErrInvalidValue, "`5x'"},
		{"port too large", false, "[Interface]\nListenPort = 65536\n", 2, ErrInvalidValue, "65536"},
		{"fwmark bad hex", false, "[Interface]\nFwMark = 0xZZ\n", 2, ErrInvalidValue, "Fwmark is neither 0/off nor 0-0xffffffff: `0xZZ'"},
		{"fwmark too large", false, "[Interface]\nFwMark = 4294967296\n", 2, ErrInvalidValue, "Fwmark"},
		{"fwmark negative", false, "[Interface]\nFwMark = -1\n", 2, ErrInvalidValue, "Fwmark"},
		{"fwmark upper X", false, "[Interface]\nFwMark = 0X10\n", 2, ErrInvalidValue, "Fwmark"},
		{"keepalive too large", false, "[Peer]\nPublicKey=" + pubB64 + "\nPersistentKeepalive = 65536\n", 3, ErrInvalidValue, "Persistent keepalive interval is neither 0/off nor 1-65535: `65536'"},
		{"keepalive word", false, "[Peer]\nPublicKey=" + pubB64 + "\nPersistentKeepalive = never\n", 3, ErrInvalidValue, "never"},
		{"allowed ip bad address", false, "[Peer]\nPublicKey=" + pubB64 + "\nAllowedIPs = 10.0.0.x/24\n", 3, ErrInvalidValue, "Unable to parse IP address: `10.0.0.x'"},
		{"allowed ip mask too long", false, "[Peer]\nPublicKey=" + pubB64 + "\nAllowedIPs = 10.0.0.1/33\n", 3, ErrInvalidValue, "AllowedIP is not in the correct format: `10.0.0.1/33'"},
		{"allowed ip v6 mask too long", false, "[Peer]\nPublicKey=" + pubB64 + "\nAllowedIPs = ::/129\n", 3, ErrInvalidValue, "`::/129'"},
		{"allowed ip empty mask", false, "[Peer]\nPublicKey=" + pubB64 + "\nAllowedIPs = 10.0.0.1/\n", 3, ErrInvalidValue, "not in the correct format"},
		{"allowed ip trailing comma", false, "[Peer]\nPublicKey=" + pubB64 + "\nAllowedIPs = 10.0.0.1/32,\n", 3, ErrInvalidValue, "Unable to parse IP address: `'"},
		{"allowed ip zone", false, "[Peer]\nPublicKey=" + pubB64 + "\nAllowedIPs = fe80::1%eth0/128\n", 3, ErrInvalidValue, ""},
		{"allowed ip incremental not in this wg", false, "[Peer]\nPublicKey=" + pubB64 + "\nAllowedIPs = +10.0.0.1/32\n", 3, ErrInvalidValue, ""},
		{"endpoint without port", false, "[Peer]\nPublicKey=" + pubB64 + "\nEndpoint = 1.2.3.4\n", 3, ErrInvalidValue, "Unable to find port of endpoint: `1.2.3.4'"},
		{"endpoint empty port", false, "[Peer]\nPublicKey=" + pubB64 + "\nEndpoint = 1.2.3.4:\n", 3, ErrInvalidValue, "port"},
		{"endpoint unclosed brace", false, "[Peer]\nPublicKey=" + pubB64 + "\nEndpoint = [::1\n", 3, ErrInvalidValue, "Unable to find matching brace of endpoint: `[::1'"},
		{"endpoint brace no port", false, "[Peer]\nPublicKey=" + pubB64 + "\nEndpoint = [::1]\n", 3, ErrInvalidValue, "port"},
		{"endpoint bad port", false, "[Peer]\nPublicKey=" + pubB64 + "\nEndpoint = host:99999\n", 3, ErrInvalidValue, "host:99999"},
		{"endpoint no host", false, "[Peer]\nPublicKey=" + pubB64 + "\nEndpoint = :51820\n", 3, ErrInvalidValue, "host"},
		{"peer without public key", false, "[Interface]\nListenPort=1\n\n[Peer]\nAllowedIPs = 10.0.0.1/32\n", 4, ErrMissingPublicKey, "A peer is missing a public key"},
		{"second peer without public key", false, "[Peer]\nPublicKey=" + pubB64 + "\n[Peer]\n[Peer]\nPublicKey=" + pubB64 + "\n", 3, ErrMissingPublicKey, ""},
		{"quick bad address", true, "[Interface]\nAddress = 10.0.0.1/40\n", 2, ErrInvalidValue, "`10.0.0.1/40'"},
		{"quick bad dns", true, "[Interface]\nDNS = 1.2.3\n", 2, ErrInvalidValue, "`1.2.3'"},
		{"quick dns search option", true, "[Interface]\nDNS = 10.0.0.1, -x\n", 2, ErrInvalidValue, "search domain"},
		{"quick dns search NUL", true, "[Interface]\nDNS = 10.0.0.1, a\x00b\n", 2, ErrInvalidValue, "search domain"},
		{"quick dns search semicolon", true, "[Interface]\nDNS = exa;mple.com\n", 2, ErrInvalidValue, "search domain"},
		{"quick dns search dot", true, "[Interface]\nDNS = .example\n", 2, ErrInvalidValue, "search domain"},
		{"quick bad dns v6", true, "[Interface]\nDNS = fd00::zz\n", 2, ErrInvalidValue, ""},
		{"quick bad mtu", true, "[Interface]\nMTU = big\n", 2, ErrInvalidValue, "`big'"},
		{"quick mtu zero", true, "[Interface]\nMTU = 0\n", 2, ErrInvalidValue, ""},
		{"quick bad bool", true, "[Interface]\nSaveConfig = yes\n", 2, ErrInvalidValue, "`yes' is neither true nor false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("wg0.conf", []byte(tt.in), Options{Quick: tt.quick})
			if err == nil {
				t.Fatal("Parse succeeded, want error")
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.File != "wg0.conf" || pe.Line != tt.line {
				t.Errorf("error at %s:%d, want wg0.conf:%d (%v)", pe.File, pe.Line, tt.line, err)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %q does not match %v", err, tt.is)
			}
			if !strings.HasPrefix(err.Error(), "wg0.conf:") {
				t.Errorf("error %q does not name the file", err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
		})
	}
}

// Error messages must never repeat key material, whatever line it is on.
func TestParseErrorsHideSecrets(t *testing.T) {
	secret := privB64
	for _, in := range []string{
		"[Interface]\nPrivateKey = " + secret[:43] + "\n",
		"[Interface]\nPrivateKey = " + secret + "x\n",
		"[Interface]\nPrivatKey = " + secret + "\n",
		"[Interface]\n" + secret + "\n",
		"[Interface]\n" + secret[:43] + "= 1\n",
		secret + "\n",
		"[Peer]\nPresharedKey = " + secret + "\n",
		"[Peer]\nPublicKey = " + secret + "\nPresharedKey = " + secret[:30] + "\n",
	} {
		_, err := Parse("x.conf", []byte(in), Options{})
		if err == nil {
			t.Errorf("Parse(%q) succeeded", in)
			continue
		}
		for _, frag := range []string{secret[:20], secret[10:30], secret[24:43]} {
			if strings.Contains(err.Error(), frag) {
				t.Errorf("error %q repeats key material", err)
			}
		}
	}
}

func TestParseWarnsNonzeroHostPart(t *testing.T) {
	var warnings []string
	_, err := Parse("w.conf", []byte("[Peer]\nPublicKey="+pubB64+"\nAllowedIPs = 10.0.0.0/8, 10.1.0.0/8, fd00::1/64\n"),
		Options{Warn: func(s string) { warnings = append(warnings, s) }})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"w.conf:3: Warning: AllowedIP has nonzero host part: 10.1.0.0/8",
		"w.conf:3: Warning: AllowedIP has nonzero host part: fd00::1/64",
	}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name  string
		quick bool
		in    string
	}{
		{"wg", false, "[Interface]\nPrivateKey=" + privB64 + "\nListenPort=0\nFwMark=off\n[Peer]\nPublicKey=" + pubB64 +
			"\nPresharedKey=" + pskB64 + "\nAllowedIPs=10.0.0.1/8,::1.2.3.4/128\nEndpoint=h:1\nPersistentKeepalive=0\n[Peer]\nPublicKey=" + pub2B64 + "\n"},
		{"quick", true, "[Interface]\nAddress=10.0.0.1/24\nDNS=1.1.1.1,search.example\nMTU=1280\nTable=1234\nSaveConfig=true\nPreUp=a b\nPostDown=c=d\nFwMark=0x10\n"},
		{"empty", false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Quick: tt.quick}
			f1, err := Parse("a", []byte(tt.in), opts)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Write(&buf, f1); err != nil {
				t.Fatal(err)
			}
			f2, err := Parse("b", buf.Bytes(), opts)
			if err != nil {
				t.Fatalf("reparse of\n%s: %v", buf.String(), err)
			}
			if !reflect.DeepEqual(f1, f2) {
				t.Errorf("round trip changed the file:\n%+v\n%+v\nvia\n%s", f1, f2, buf.String())
			}
		})
	}
}

func TestStrip(t *testing.T) {
	f, err := Parse("q", []byte("[Interface]\nAddress=10.0.0.1/24\nDNS=1.1.1.1\nPostUp=x\nListenPort=7\n[Peer]\nPublicKey="+pubB64+"\n"), Options{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, Strip(f)); err != nil {
		t.Fatal(err)
	}
	want := "[Interface]\nListenPort = 7\n\n[Peer]\nPublicKey = " + pubB64 + "\n"
	if buf.String() != want {
		t.Errorf("Strip wrote\n%q\nwant\n%q", buf.String(), want)
	}
	if _, err := Parse("s", buf.Bytes(), Options{}); err != nil {
		t.Errorf("stripped file rejected by the wg dialect: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("[Interface]\nPrivateKey = "+privB64+"\nListenPort = 51820\nFwMark = 0x1\n\n[Peer]\nPublicKey = "+pubB64+"\nAllowedIPs = 10.0.0.0/8, ::/0\nEndpoint = [::1]:1\n"), true)
	f.Add([]byte("[Interface]\nAddress = 10.0.0.1/24\nDNS = 1.1.1.1, x\nPostUp = a # c\n"), true)
	f.Add([]byte("[Peer]\nPublicKey="+pubB64+"\nPersistentKeepalive=off\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, quick bool) {
		opts := Options{Quick: quick}
		f1, err := Parse("fuzz", data, opts)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error %v is not a located *ParseError", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, f1); err != nil {
			t.Fatal(err)
		}
		f2, err := Parse("fuzz2", buf.Bytes(), opts)
		if err != nil {
			t.Fatalf("Write output does not parse: %v\n%s", err, buf.String())
		}
		if !reflect.DeepEqual(f1, f2) {
			t.Fatalf("round trip changed the file:\n%+v\n%+v\n%s", f1, f2, buf.String())
		}
	})
}
