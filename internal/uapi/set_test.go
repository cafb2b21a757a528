package uapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

func ptr[T any](v T) *T { return &v }

// testKey returns a key whose bytes are all b.
func testKey(b byte) [noise.KeySize]byte {
	var k [noise.KeySize]byte
	for i := range k {
		k[i] = b
	}
	return k
}

func hexOf(b byte) string { return noise.PublicKey(testKey(b)).Hex() }

var (
	pub1   = noise.PublicKey(testKey(0x11))
	pub2   = noise.PublicKey(testKey(0x22))
	zeroes = strings.Repeat("0", 64)
)

func TestParseSet(t *testing.T) {
	priv := noise.PrivateKey(testKey(0xff)) // clamps to 0xf8 ... 0x7f
	clamped := priv.Clamped()
	tests := []struct {
		name string
		in   string
		want wgtypes.Config
	}{
		{"empty", "\n", wgtypes.Config{}},
		{"empty at EOF", "", wgtypes.Config{}},
		{"private_key clamped", "private_key=" + hexOf(0xff) + "\n\n",
			wgtypes.Config{PrivateKey: &clamped}},
		{"private_key upper-case hex", "private_key=" + strings.ToUpper(hexOf(0xff)) + "\n\n",
			wgtypes.Config{PrivateKey: &clamped}},
		{"private_key zero removes", "private_key=" + zeroes + "\n\n",
			wgtypes.Config{PrivateKey: &noise.PrivateKey{}}},
		{"listen_port", "listen_port=51820\n\n", wgtypes.Config{ListenPort: ptr[uint16](51820)}},
		{"listen_port 0", "listen_port=0\n\n", wgtypes.Config{ListenPort: ptr[uint16](0)}},
		{"listen_port max", "listen_port=65535\n\n", wgtypes.Config{ListenPort: ptr[uint16](65535)}},
		{"fwmark", "fwmark=4294967295\n\n", wgtypes.Config{FwMark: ptr[uint32](1<<32 - 1)}},
		{"fwmark 0 turns off", "fwmark=0\n\n", wgtypes.Config{FwMark: ptr[uint32](0)}},
		{"replace_peers", "replace_peers=true\n\n", wgtypes.Config{ReplacePeers: true}},
		{"last value wins", "listen_port=1\nlisten_port=2\n\n", wgtypes.Config{ListenPort: ptr[uint16](2)}},
		{"CRLF as wireguard-go's scanner", "listen_port=7\r\n\r\n", wgtypes.Config{ListenPort: ptr[uint16](7)}},
		{"stops at blank line", "listen_port=7\n\nlisten_port=8\n", wgtypes.Config{ListenPort: ptr[uint16](7)}},
		{"last line without newline", "listen_port=7", wgtypes.Config{ListenPort: ptr[uint16](7)}},
		{"public_key", "public_key=" + hexOf(0x11) + "\n\n",
			wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub1}}}},
		{"peer fields", strings.Join([]string{
			"public_key=" + hexOf(0x11),
			"update_only=true",
			"preshared_key=" + hexOf(0x33),
			"endpoint=[2001:db8::1]:51820",
			"persistent_keepalive_interval=25",
			"replace_allowed_ips=true",
			"allowed_ip=10.0.0.0/8",
			"allowed_ip=2001:db8::/32",
			"protocol_version=1",
		}, "\n") + "\n\n", wgtypes.Config{Peers: []wgtypes.PeerConfig{{
			PublicKey:                   pub1,
			UpdateOnly:                  true,
			PresharedKey:                ptr(noise.PresharedKey(testKey(0x33))),
			Endpoint:                    ptr(netip.MustParseAddrPort("[2001:db8::1]:51820")),
			PersistentKeepaliveInterval: ptr[uint16](25),
			ReplaceAllowedIPs:           true,
			AllowedIPs:                  []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
			ProtocolVersion:             ptr(1),
		}}}},
		{"zero preshared_key removes", "public_key=" + hexOf(0x11) + "\npreshared_key=" + zeroes + "\n\n",
			wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub1, PresharedKey: &noise.PresharedKey{}}}}},
		{"endpoint v4", "public_key=" + hexOf(0x11) + "\nendpoint=192.0.2.1:0\n\n",
			wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub1, Endpoint: ptr(netip.MustParseAddrPort("192.0.2.1:0"))}}}},
		{"endpoint v6 zone", "public_key=" + hexOf(0x11) + "\nendpoint=[fe80::1%eth0]:1\n\n",
			wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub1, Endpoint: ptr(netip.MustParseAddrPort("[fe80::1%eth0]:1"))}}}},
		{"allowed_ip kept as written", "public_key=" + hexOf(0x11) + "\nallowed_ip=10.1.2.3/8\n\n",
			wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub1, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.1.2.3/8")}}}}},
		{"replace_allowed_ips drops earlier lines", "public_key=" + hexOf(0x11) +
			"\nallowed_ip=10.0.0.0/8\nreplace_allowed_ips=true\nallowed_ip=10.0.0.1/32\n\n",
			wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub1, ReplaceAllowedIPs: true,
				AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}}}}},
		{"remove", "public_key=" + hexOf(0x11) + "\nremove=true\n\n",
			wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub1, Remove: true}}}},
		{"two peers, replace_peers", "replace_peers=true\npublic_key=" + hexOf(0x11) + "\npublic_key=" + hexOf(0x22) + "\nremove=true\n\n",
			wgtypes.Config{ReplacePeers: true, Peers: []wgtypes.PeerConfig{{PublicKey: pub1}, {PublicKey: pub2, Remove: true}}}},
		{"same peer twice stays in order", "public_key=" + hexOf(0x11) + "\nremove=true\npublic_key=" + hexOf(0x11) + "\nallowed_ip=::/0\n\n",
			wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub1, Remove: true}, {PublicKey: pub1, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("::/0")}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSet(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ParseSet: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("ParseSet =\n%+v\nwant\n%+v", *got, tt.want)
			}
		})
	}
}

type setErrorCase struct {
	name  string
	in    string
	errno int64
}

func setErrorCases() []setErrorCase {
	peer := "public_key=" + hexOf(0x11) + "\n"
	return []setErrorCase{
		{"no equals sign", "listen_port\n\n", errnoProtocol},
		{"bare key in peer", peer + "remove\n\n", errnoProtocol},
		{"unknown device key", "foo=1\n\n", errnoInvalid},
		{"unknown peer key", peer + "foo=1\n\n", errnoInvalid},
		{"empty key", "=1\n\n", errnoInvalid},
		{"space around =", "listen_port = 1\n\n", errnoInvalid},
		{"private_key short", "private_key=abcd\n\n", errnoInvalid},
		{"private_key not hex", "private_key=" + strings.Repeat("g", 64) + "\n\n", errnoInvalid},
		{"private_key base64", "private_key=" + noise.PublicKey(pub1).String() + "\n\n", errnoInvalid},
		{"private_key empty", "private_key=\n\n", errnoInvalid},
		{"listen_port too big", "listen_port=65536\n\n", errnoInvalid},
		{"listen_port negative", "listen_port=-1\n\n", errnoInvalid},
		{"listen_port plus", "listen_port=+1\n\n", errnoInvalid},
		{"listen_port hex", "listen_port=0x10\n\n", errnoInvalid},
		{"listen_port empty", "listen_port=\n\n", errnoInvalid},
		{"fwmark too big", "fwmark=4294967296\n\n", errnoInvalid},
		{"fwmark word", "fwmark=off\n\n", errnoInvalid},
		{"replace_peers false", "replace_peers=false\n\n", errnoInvalid},
		{"device key after peer", peer + "listen_port=1\n\n", errnoInvalid},
		{"private_key after peer", peer + "private_key=" + zeroes + "\n\n", errnoInvalid},
		{"replace_peers after peer", peer + "replace_peers=true\n\n", errnoInvalid},
		{"peer key before peer", "endpoint=1.2.3.4:5\n\n", errnoInvalid},
		{"allowed_ip before peer", "allowed_ip=0.0.0.0/0\n\n", errnoInvalid},
		{"public_key short", "public_key=11\n\n", errnoInvalid},
		{"public_key empty", "public_key=\n\n", errnoInvalid},
		{"update_only 1", peer + "update_only=1\n\n", errnoInvalid},
		{"remove false", peer + "remove=false\n\n", errnoInvalid},
		{"preshared_key short", peer + "preshared_key=00\n\n", errnoInvalid},
		{"endpoint hostname", peer + "endpoint=example.com:51820\n\n", errnoInvalid},
		{"endpoint no port", peer + "endpoint=1.2.3.4\n\n", errnoInvalid},
		{"endpoint v6 unbracketed", peer + "endpoint=::1:51820\n\n", errnoInvalid},
		{"endpoint port too big", peer + "endpoint=1.2.3.4:65536\n\n", errnoInvalid},
		{"keepalive too big", peer + "persistent_keepalive_interval=65536\n\n", errnoInvalid},
		{"keepalive word", peer + "persistent_keepalive_interval=off\n\n", errnoInvalid},
		{"replace_allowed_ips yes", peer + "replace_allowed_ips=yes\n\n", errnoInvalid},
		{"allowed_ip no mask", peer + "allowed_ip=10.0.0.1\n\n", errnoInvalid},
		{"allowed_ip mask too big", peer + "allowed_ip=10.0.0.1/33\n\n", errnoInvalid},
		{"allowed_ip v6 mask too big", peer + "allowed_ip=::/129\n\n", errnoInvalid},
		{"allowed_ip zone", peer + "allowed_ip=fe80::1%eth0/64\n\n", errnoInvalid},
		{"allowed_ip removal malformed", peer + "allowed_ip=-10.0.0.0\n\n", errnoInvalid},
		{"allowed_ip removal empty", peer + "allowed_ip=-\n\n", errnoInvalid},
		{"protocol_version 2", peer + "protocol_version=2\n\n", errnoInvalid},
		{"protocol_version 01", peer + "protocol_version=01\n\n", errnoInvalid},
		{"line too long", "listen_port=" + strings.Repeat("1", MaxLineLength) + "\n\n", errnoInvalid},
	}
}

func TestParseSetErrors(t *testing.T) {
	for _, tt := range setErrorCases() {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseSet(strings.NewReader(tt.in))
			var ue *Error
			if !errors.As(err, &ue) {
				t.Fatalf("ParseSet = %+v, %v; want *Error", cfg, err)
			}
			if ue.Errno != tt.errno {
				t.Errorf("errno = %d, want %d (%v)", ue.Errno, tt.errno, err)
			}
			if cfg != nil {
				t.Errorf("config returned with error: %+v", cfg)
			}
		})
	}
}

// TestParseSetNoSecretsInErrors checks that a rejected line carrying key
// material is not echoed in the error.
func TestParseSetNoSecretsInErrors(t *testing.T) {
	secret := strings.Repeat("ab", 31) + "zz" // 64 characters, not hex
	for _, in := range []string{
		"private_key=" + secret + "\n\n",
		"public_key=" + hexOf(1) + "\npreshared_key=" + secret + "\n\n",
		"public_key=" + hexOf(1) + "\npreshared_key=" + secret + "0\n\n",
		secret + "\n\n",
	} {
		_, err := ParseSet(strings.NewReader(in))
		if err == nil {
			t.Fatalf("ParseSet(%q) succeeded", in)
		}
		if strings.Contains(err.Error(), secret[:16]) {
			t.Errorf("error %q contains key material", err)
		}
	}
}

// TestParseSetStopsAtBlankLine checks that with a *bufio.Reader nothing
// after the body is consumed: the server reads the next request from it.
func TestParseSetStopsAtBlankLine(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("listen_port=1\n\nget=1\n\n"))
	if _, err := ParseSet(br); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "get=1\n\n" {
		t.Errorf("left %q, want %q", rest, "get=1\n\n")
	}
}

func TestWriteSetRoundTrip(t *testing.T) {
	priv := noise.PrivateKey(testKey(0x40)).Clamped()
	tests := []struct {
		name string
		cfg  wgtypes.Config
	}{
		{"empty", wgtypes.Config{}},
		{"device", wgtypes.Config{PrivateKey: &priv, ListenPort: ptr[uint16](51820), FwMark: ptr[uint32](0), ReplacePeers: true}},
		{"remove private key", wgtypes.Config{PrivateKey: &noise.PrivateKey{}}},
		{"peers", wgtypes.Config{Peers: []wgtypes.PeerConfig{
			{PublicKey: pub1, UpdateOnly: true, PresharedKey: ptr(noise.PresharedKey(testKey(9))),
				Endpoint:                    ptr(netip.MustParseAddrPort("[::ffff:1.2.3.4]:9")),
				PersistentKeepaliveInterval: ptr[uint16](0), ReplaceAllowedIPs: true,
				AllowedIPs:      []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")},
				ProtocolVersion: ptr(1)},
			{PublicKey: pub2, Remove: true},
			{PublicKey: pub1, PresharedKey: &noise.PresharedKey{}},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteSet(&b, &tt.cfg); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(b.Bytes(), []byte("\n\n")) && b.String() != "\n" {
				t.Errorf("body %q does not end with a blank line", b.String())
			}
			got, err := ParseSet(&b)
			if err != nil {
				t.Fatalf("ParseSet(WriteSet): %v\n%s", err, b.String())
			}
			if !reflect.DeepEqual(*got, tt.cfg) {
				t.Errorf("round trip =\n%+v\nwant\n%+v", *got, tt.cfg)
			}
		})
	}
}

func TestWriteSetFormat(t *testing.T) {
	cfg := wgtypes.Config{ListenPort: ptr[uint16](1), FwMark: ptr[uint32](2), ReplacePeers: true,
		Peers: []wgtypes.PeerConfig{{PublicKey: pub1, Endpoint: ptr(netip.MustParseAddrPort("[2001:db8::1]:3")),
			AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}}
	want := "listen_port=1\nfwmark=2\nreplace_peers=true\npublic_key=" + hexOf(0x11) +
		"\nendpoint=[2001:db8::1]:3\nallowed_ip=10.0.0.0/8\n\n"
	var b strings.Builder
	if err := WriteSet(&b, &cfg); err != nil {
		t.Fatal(err)
	}
	if b.String() != want {
		t.Errorf("WriteSet =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteSetRejects(t *testing.T) {
	tests := []struct {
		name string
		peer wgtypes.PeerConfig
	}{
		{"invalid endpoint", wgtypes.PeerConfig{Endpoint: &netip.AddrPort{}}},
		{"invalid prefix", wgtypes.PeerConfig{AllowedIPs: []netip.Prefix{{}}}},
		{"protocol version 2", wgtypes.PeerConfig{ProtocolVersion: ptr(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := WriteSet(&b, &wgtypes.Config{Peers: []wgtypes.PeerConfig{tt.peer}})
			if !errors.Is(err, wgtypes.ErrInvalidConfig) {
				t.Errorf("err = %v, want wgtypes.ErrInvalidConfig", err)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %q despite the error", b.String())
			}
		})
	}
}

// TestParseSetCountsPerRequest checks that line numbers (and so the
// MaxLines bound) start afresh with each request on a connection.
func TestParseSetCountsPerRequest(t *testing.T) {
	lr := newLineReader(strings.NewReader("listen_port=1\nfwmark=2\n\nfoo=1\n\n"))
	if _, _, err := parseSet(lr, DefaultMaxPeers); err != nil {
		t.Fatal(err)
	}
	_, _, err := parseSet(lr, DefaultMaxPeers)
	if err == nil || !strings.Contains(err.Error(), "set request line 2:") {
		t.Errorf("second request: err = %v, want it to blame line 2 (set=1 being line 1)", err)
	}
}

// TestSetErrorsNameKeyAndLine: a rejected set request names the offending
// key and its line as the client counts it, "set=1" being line 1, as the
// server logs it (once, without "uapi: set: uapi:"); the errno is
// wireguard-go's.
func TestSetErrorsNameKeyAndLine(t *testing.T) {
	peer := "public_key=" + hexOf(1) + "\n"
	for _, tc := range []struct {
		name, body, want string
		errno            int64
	}{
		{"bad value", "listen_port=1\nfwmark=x\n", `uapi: invalid argument: set request line 3: fwmark: "x": invalid syntax`, errnoInvalid},
		{"unknown device key", "listen_port=1\nlisten=2\n", `uapi: invalid argument: set request line 3: "listen": no such device key`, errnoInvalid},
		{"peer key first", "endpoint=192.0.2.1:1\n", `uapi: invalid argument: set request line 2: endpoint: a peer's key before the first public_key`, errnoInvalid},
		{"device key late", peer + "allowed_ip=10.0.0.0/8\nlisten_port=1\n", `uapi: invalid argument: set request line 4: listen_port: a device key after the first public_key`, errnoInvalid},
		{"unknown peer key", peer + "allowed_ips=10.0.0.0/8\n", `uapi: invalid argument: set request line 3: "allowed_ips": no such peer key`, errnoInvalid},
		{"bad endpoint", peer + "endpoint=nowhere\n", `uapi: invalid argument: set request line 3: endpoint: "nowhere": `, errnoInvalid},
		{"bad prefix", peer + "remove=true\nallowed_ip=10.0.0.1/33\n", `uapi: invalid argument: set request line 4: allowed_ip: "10.0.0.1/33": `, errnoInvalid},
		{"no equals", "listen_port=1\nbogus\n", `uapi: protocol error: set request line 3: not key=value`, errnoProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged []string
			logf := func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
			client, server := net.Pipe()
			defer client.Close()
			h := &fakeHandler{}
			done := make(chan struct{})
			go func() { ServeConn(server, h, logf); close(done) }()
			go io.WriteString(client, "set=1\n"+tc.body+"\n")
			answer, err := bufio.NewReader(client).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("errno=%d\n", -tc.errno); answer != want {
				t.Errorf("answer %q, want %q", answer, want)
			}
			client.Close()
			<-done
			if h.nApplied() != 0 {
				t.Errorf("a rejected request was applied")
			}
			if len(logged) != 1 || !strings.HasPrefix(logged[0], tc.want) {
				t.Errorf("logged %q, want one line starting %q", logged, tc.want)
			}
		})
	}
}

// TestSetLogsPrivateKeyChange: an applied request that sets the private key
// logs one line saying so, without the key; removing it says that; a
// request without one, or one that fails, logs no such line.
func TestSetLogsPrivateKeyChange(t *testing.T) {
	key := strings.Repeat("a1", 32)
	for _, tc := range []struct {
		name, body string
		applyErr   error
		want       []string
	}{
		{"set", "private_key=" + key + "\nlisten_port=1\n", nil, []string{"UAPI: Updating private key"}},
		{"remove", "private_key=" + strings.Repeat("00", 32) + "\n", nil, []string{"UAPI: Removing private key"}},
		{"no key", "listen_port=1\n", nil, nil},
		{"refused", "private_key=" + key + "\n", wgtypes.ErrPortInUse, []string{"uapi: set: " + wgtypes.ErrPortInUse.Error()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged []string
			logf := func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
			client, server := net.Pipe()
			defer client.Close()
			h := &fakeHandler{err: tc.applyErr}
			done := make(chan struct{})
			go func() { ServeConn(server, h, logf); close(done) }()
			go io.WriteString(client, "set=1\n"+tc.body+"\n")
			if _, err := bufio.NewReader(client).ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			client.Close()
			<-done
			if !reflect.DeepEqual(logged, tc.want) {
				t.Errorf("logged %q, want %q", logged, tc.want)
			}
			for _, l := range logged {
				if strings.Contains(l, key[:16]) {
					t.Errorf("the key was logged: %q", l)
				}
			}
		})
	}
}
