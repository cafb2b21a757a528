package winnet

import (
	"regexp"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/conf"
)

const guidConf = `[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
Address = 10.9.0.2/32
DNS = 10.9.0.1
MTU = 1400
[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
Endpoint = 192.0.2.1:51820
AllowedIPs = 10.9.0.0/24, fd00::/64
[Peer]
PublicKey = TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=
AllowedIPs = 10.8.0.0/16
`

func guidOf(t *testing.T, name, text string) GUID {
	t.Helper()
	f, err := conf.Parse(name, []byte(text), conf.Options{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	return AdapterGUID(name, f)
}

func TestAdapterGUIDFollowsConfiguration(t *testing.T) {
	base := guidOf(t, "wg0", guidConf)
	if again := guidOf(t, "wg0", guidConf); again != base {
		t.Fatalf("not deterministic: %v, %v", base, again)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(base.String()) {
		t.Errorf("%v is not a version 5, RFC 4122 variant UUID", base)
	}
	same := map[string]string{
		"peers reordered": `[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
[Peer]
PublicKey = TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=
AllowedIPs = 10.8.0.0/16
[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
AllowedIPs = fd00::/64, 10.9.0.0/24, 10.9.0.0/24
`,
		"endpoint, DNS, MTU, keepalive, hooks": strings.NewReplacer(
			"192.0.2.1:51820", "198.51.100.9:1",
			"DNS = 10.9.0.1", "DNS = 1.1.1.1\nPostUp = echo hi",
			"MTU = 1400", "MTU = 1280\nListenPort = 5",
			"Endpoint", "PersistentKeepalive = 25\nEndpoint").Replace(guidConf),
		"AllowedIPs with host bits and mapped": strings.Replace(guidConf, "10.8.0.0/16", "::ffff:10.8.1.2/112", 1),
		// The same public key from an unclamped private key: the GUID
		// depends on the public key only, never on the secret's bytes.
		"unclamped private key": strings.Replace(guidConf, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
			"zwnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBuk=", 1),
	}
	for what, text := range same {
		if g := guidOf(t, "wg0", text); g != base {
			t.Errorf("%s changed the GUID: %v, want %v", what, g, base)
		}
	}
	differ := map[string]string{
		"another private key": strings.Replace(guidConf, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", "GFGn1ZOAE0A4C+dcYsX4v1yK3TaE/gqG9HyQAM2RZ24=", 1),
		"another peer key":    strings.Replace(guidConf, "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=", "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=", 1),
		"another AllowedIP":   strings.Replace(guidConf, "10.8.0.0/16", "10.8.0.0/15", 1),
		"AllowedIP moved to another peer": strings.Replace(strings.Replace(guidConf, ", fd00::/64", "", 1),
			"10.8.0.0/16", "10.8.0.0/16, fd00::/64", 1),
		"a peer removed": guidConf[:strings.LastIndex(guidConf, "[Peer]")],
	}
	seen := map[GUID]string{base: "base"}
	for what, text := range differ {
		g := guidOf(t, "wg0", text)
		if prev, dup := seen[g]; dup {
			t.Errorf("%s gives the GUID of %s: %v", what, prev, g)
		}
		seen[g] = what
	}
	if guidOf(t, "wg1", guidConf) == base {
		t.Error("another name gives the same GUID")
	}
	if AdapterGUID("wg0", nil) == AdapterGUID("wg1", nil) {
		t.Error("without a configuration, two names give one GUID")
	}
}
