package manager

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
)

// FuzzClientName: whatever name conf accepts for a peer, the section the
// manager appends carries it as the peer's name and adds nothing else to
// the file (no line of the name's making); a name conf refuses never gets
// that far (AddClient checks it first).
func FuzzClientName(f *testing.F) {
	for _, s := range []string{"alice", "<script>alert(1)</script>", "a\n[Peer]", "x = y", "# Name = z", "é\u202e", " pad "} {
		f.Add(s)
	}
	pub, psk := testKey(f), testPSK(f)
	addrs := []netip.Prefix{netip.MustParsePrefix("10.8.0.2/32")}
	before, err := conf.Parse("t", []byte(serverHead), conf.Options{Quick: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if conf.ValidPeerName(name) != nil {
			return
		}
		out := appendPeerBlock([]byte(serverHead), peerBlock(name, pub, psk, addrs))
		after, err := conf.Parse("t", out, conf.Options{Quick: true})
		if err != nil {
			t.Fatalf("name %q: %v", name, err)
		}
		if len(after.Peers) != 1 || after.Peers[0].Name != name || after.Peers[0].PublicKey != pub ||
			!reflect.DeepEqual(after.Interface, before.Interface) || strings.Count(string(out), "\n") != strings.Count(serverHead, "\n")+6 {
			t.Fatalf("name %q gave\n%s", name, out)
		}
	})
}

// FuzzClientEndpointHost: a host the settings accept makes a client
// configuration that parses, with that endpoint and nothing else added.
func FuzzClientEndpointHost(f *testing.F) {
	for _, s := range []string{"vpn.example.com", "192.0.2.1", "2001:db8::1", "a b", "h\nDNS = 1.1.1.1", "h#", "[::1]", "fe80::1%eth0", "_srv.example."} {
		f.Add(s)
	}
	priv := noise.PrivateKey{1}
	psk := testPSK(f)
	addrs := []netip.Prefix{netip.MustParsePrefix("10.8.0.2/32")}
	f.Fuzz(func(t *testing.T, host string) {
		s := DefaultClientSettings()
		s.EndpointHost = host
		if host == "" || s.Validate() != nil {
			return
		}
		text, err := clientConfigText(priv, psk, noise.PublicKey{2}, addrs, s, 51820)
		if err != nil {
			t.Fatalf("host %q accepted by Validate, refused by the configuration: %v", host, err)
		}
		c, err := conf.Parse("c", text, conf.Options{Quick: true})
		if err != nil || len(c.Peers) != 1 {
			t.Fatalf("host %q: %v\n%s", host, err, text)
		}
		want := host + ":51820"
		if strings.Contains(host, ":") {
			want = "[" + host + "]:51820"
		}
		if c.Peers[0].Endpoint != want || len(c.Interface.DNS) != 0 || strings.Count(string(text), "\n") != 10 {
			t.Fatalf("host %q gave\n%s", host, text)
		}
	})
}
