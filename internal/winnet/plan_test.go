package winnet

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/conf"
)

const (
	key1 = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
	pub1 = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
	pub2 = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
)

func parse(t *testing.T, name, text string) *conf.File {
	t.Helper()
	f, err := conf.Parse(name, []byte(text), conf.Options{Quick: true})
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return f
}

func plan(t *testing.T, name, text string) *Plan {
	t.Helper()
	p, err := NewPlan(name, parse(t, name, text), Options{})
	if err != nil {
		t.Fatalf("plan %s: %v", name, err)
	}
	return p
}

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

func routePrefixes(rs []Route) []netip.Prefix {
	ps := make([]netip.Prefix, len(rs))
	for i, r := range rs {
		ps[i] = r.Prefix
	}
	return ps
}

func TestPlanSplitTunnel(t *testing.T) {
	p := plan(t, "office", `[Interface]
PrivateKey = `+key1+`
Address = 10.0.0.2/24, fd00::2/64
DNS = 10.0.0.1, fd00::1, corp.example, lab.example
MTU = 1380

[Peer]
PublicKey = `+pub1+`
Endpoint = 192.0.2.1:51820
AllowedIPs = 10.0.0.0/24, 10.1.2.3/16, fd00::/64

[Peer]
PublicKey = `+pub2+`
AllowedIPs = 10.0.0.0/24, 172.16.0.0/12
`)
	if want := prefixes("10.0.0.2/24", "fd00::2/64"); !slices.Equal(p.Addresses, want) {
		t.Errorf("Addresses = %v, want %v", p.Addresses, want)
	}
	// Masked, deduplicated across peers, sorted: IPv4 first.
	if want := prefixes("10.0.0.0/24", "10.1.0.0/16", "172.16.0.0/12", "fd00::/64"); !slices.Equal(routePrefixes(p.Routes), want) {
		t.Errorf("Routes = %v, want %v", routePrefixes(p.Routes), want)
	}
	if want := []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")}; !slices.Equal(p.DNS, want) {
		t.Errorf("DNS = %v, want %v", p.DNS, want)
	}
	if want := []string{"corp.example", "lab.example"}; !slices.Equal(p.DNSSearch, want) {
		t.Errorf("DNSSearch = %v, want %v", p.DNSSearch, want)
	}
	if p.MTU != 1380 {
		t.Errorf("MTU = %d, want 1380", p.MTU)
	}
	if p.DefaultRoute4 || p.DefaultRoute6 || len(p.Firewall) != 0 {
		t.Errorf("split tunnel: default routes %v/%v, %d firewall rules; want none", p.DefaultRoute4, p.DefaultRoute6, len(p.Firewall))
	}
}

func TestPlanFullTunnel(t *testing.T) {
	p := plan(t, "home", `[Interface]
PrivateKey = `+key1+`
Address = 10.9.0.2/32
DNS = 10.9.0.1

[Peer]
PublicKey = `+pub1+`
Endpoint = vpn.example:51820
AllowedIPs = 0.0.0.0/0, ::/0
`)
	if p.MTU != DefaultMTU {
		t.Errorf("MTU = %d, want the default %d", p.MTU, DefaultMTU)
	}
	if !p.DefaultRoute4 || !p.DefaultRoute6 {
		t.Errorf("DefaultRoute4/6 = %v/%v, want true/true", p.DefaultRoute4, p.DefaultRoute6)
	}
	if want := prefixes("0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"); !slices.Equal(routePrefixes(p.Routes), want) {
		t.Errorf("Routes = %v, want the split default %v", routePrefixes(p.Routes), want)
	}
	if len(p.Firewall) == 0 {
		t.Fatal("full tunnel without a kill switch")
	}
	if s := p.String(); !strings.Contains(s, "route 128.0.0.0/1") || !strings.Contains(s, "kill switch") {
		t.Errorf("String() = %q", s)
	}
}

func TestPlanOnlyIPv4Default(t *testing.T) {
	p := plan(t, "v4", `[Interface]
PrivateKey = `+key1+`
Address = 10.9.0.2/32
MTU = 1000
[Peer]
PublicKey = `+pub1+`
AllowedIPs = 0.0.0.0/0, 0.0.0.0/0
`)
	if !p.DefaultRoute4 || p.DefaultRoute6 {
		t.Errorf("DefaultRoute4/6 = %v/%v, want true/false", p.DefaultRoute4, p.DefaultRoute6)
	}
	if want := prefixes("0.0.0.0/1", "128.0.0.0/1"); !slices.Equal(routePrefixes(p.Routes), want) {
		t.Errorf("Routes = %v, want %v", routePrefixes(p.Routes), want)
	}
	for _, r := range p.Firewall {
		if r.Layer.Is6() && r.Action == Block {
			t.Errorf("IPv4-only kill switch blocks IPv6: %v", r)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"mtu below IPv6 minimum", "[Interface]\nAddress = fd00::2/64\nMTU = 1200\n"},
		{"mtu below IPv6 minimum by route", "[Interface]\nMTU = 1200\n[Peer]\nPublicKey = " + pub1 + "\nAllowedIPs = ::/0\n"},
		{"mtu too small", "[Interface]\nAddress = 10.0.0.2/32\nMTU = 500\n"},
		{"mtu too large", "[Interface]\nAddress = 10.0.0.2/32\nMTU = 70000\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := conf.Parse("t", []byte(tc.text), conf.Options{Quick: true})
			if err != nil {
				t.Skipf("the parser refuses it already: %v", err)
			}
			if _, err := NewPlan("t", f, Options{}); !errors.Is(err, ErrPlan) {
				t.Errorf("NewPlan error = %v, want ErrPlan", err)
			}
		})
	}
	if _, err := NewPlan("", &conf.File{}, Options{}); !errors.Is(err, ErrPlan) {
		t.Errorf("empty name: %v", err)
	}
	if _, err := NewPlan("x", nil, Options{}); !errors.Is(err, ErrPlan) {
		t.Errorf("nil file: %v", err)
	}
	// An IPv4-only tunnel may go below IPv6's minimum.
	if _, err := NewPlan("x", parse(t, "x", "[Interface]\nAddress = 10.0.0.2/32\nMTU = 1200\n"), Options{}); err != nil {
		t.Errorf("IPv4-only MTU 1200: %v", err)
	}
}

func TestHasHooks(t *testing.T) {
	if HasHooks(parse(t, "a", "[Interface]\nAddress = 10.0.0.2/32\n")) {
		t.Error("no hooks reported as hooks")
	}
	if !HasHooks(parse(t, "a", "[Interface]\nPostUp = echo hi\n")) {
		t.Error("PostUp not reported")
	}
}

func TestSplitDefault(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		lo, hi := SplitDefault(v6)
		all := netip.PrefixFrom(lo.Addr(), 0)
		if lo.Bits() != 1 || hi.Bits() != 1 || lo.Overlaps(hi) || !all.Overlaps(hi) || lo.Addr().Is6() != v6 {
			t.Errorf("SplitDefault(%v) = %v, %v", v6, lo, hi)
		}
	}
}

func TestKillSwitchVerdicts(t *testing.T) {
	ep := netip.MustParseAddrPort("198.51.100.7:51820")
	p, err := NewPlan("full", parse(t, "full", `[Interface]
Address = 10.9.0.2/32, fd09::2/128
DNS = 10.9.0.1
[Peer]
PublicKey = `+pub1+`
AllowedIPs = 0.0.0.0/0, ::/0
`), Options{Endpoints: []netip.AddrPort{ep}})
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	for _, tc := range []struct {
		name string
		pkt  Packet
		want Action
	}{
		{"web outside the tunnel", Packet{Layer: LayerConnectV4, Protocol: ProtoTCP, RemoteAddr: a("93.184.216.34"), RemotePort: 443}, Block},
		{"web outside the tunnel v6", Packet{Layer: LayerConnectV6, Protocol: ProtoTCP, RemoteAddr: a("2001:db8::1"), RemotePort: 443}, Block},
		{"inbound outside the tunnel", Packet{Layer: LayerRecvAcceptV4, Protocol: ProtoTCP, RemoteAddr: a("93.184.216.34"), LocalPort: 22}, Block},
		{"web through the tunnel", Packet{Layer: LayerConnectV4, TunnelInterface: true, Protocol: ProtoTCP, RemoteAddr: a("93.184.216.34"), RemotePort: 443}, Permit},
		{"DNS through the tunnel", Packet{Layer: LayerConnectV4, TunnelInterface: true, Protocol: ProtoUDP, RemoteAddr: a("10.9.0.1"), RemotePort: 53}, Permit},
		{"DNS to the LAN resolver", Packet{Layer: LayerConnectV4, Protocol: ProtoUDP, RemoteAddr: a("192.168.1.1"), RemotePort: 53}, Block},
		{"DNS over TCP to the LAN", Packet{Layer: LayerConnectV6, Protocol: ProtoTCP, RemoteAddr: a("fe80::1"), RemotePort: 53}, Block},
		{"warren's encrypted traffic", Packet{Layer: LayerConnectV4, OwnApp: true, Protocol: ProtoUDP, RemoteAddr: a("203.0.113.9"), RemotePort: 51820}, Permit},
		{"endpoint from another process", Packet{Layer: LayerConnectV4, Protocol: ProtoUDP, RemoteAddr: ep.Addr(), RemotePort: ep.Port()}, Permit},
		{"endpoint address, other port", Packet{Layer: LayerConnectV4, Protocol: ProtoUDP, RemoteAddr: ep.Addr(), RemotePort: 53}, Block},
		{"loopback", Packet{Layer: LayerConnectV4, Loopback: true, Protocol: ProtoTCP, RemoteAddr: a("127.0.0.1"), RemotePort: 8080}, Permit},
		{"loopback v6", Packet{Layer: LayerRecvAcceptV6, Loopback: true, Protocol: ProtoTCP, RemoteAddr: a("::1"), LocalPort: 8080}, Permit},
		{"DHCPv4 discover", Packet{Layer: LayerConnectV4, Protocol: ProtoUDP, RemoteAddr: a("255.255.255.255"), RemotePort: 67, LocalPort: 68}, Permit},
		{"DHCPv4 offer", Packet{Layer: LayerRecvAcceptV4, Protocol: ProtoUDP, RemoteAddr: a("192.168.1.1"), RemotePort: 67, LocalPort: 68}, Permit},
		{"DHCPv6 solicit", Packet{Layer: LayerConnectV6, Protocol: ProtoUDP, RemoteAddr: a("ff02::1:2"), RemotePort: 547, LocalPort: 546}, Permit},
		{"DHCPv6 advertise", Packet{Layer: LayerRecvAcceptV6, Protocol: ProtoUDP, RemoteAddr: a("fe80::1"), RemotePort: 547, LocalPort: 546}, Permit},
		{"DHCPv6 to a global server", Packet{Layer: LayerConnectV6, Protocol: ProtoUDP, RemoteAddr: a("2001:db8::547"), RemotePort: 547, LocalPort: 546}, Block},
		{"router solicitation", Packet{Layer: LayerConnectV6, Protocol: ProtoICMPv6, RemoteAddr: a("ff02::2"), LocalPort: 133}, Permit},
		{"router advertisement", Packet{Layer: LayerRecvAcceptV6, Protocol: ProtoICMPv6, RemoteAddr: a("fe80::1"), LocalPort: 134}, Permit},
		{"rogue router advertisement", Packet{Layer: LayerRecvAcceptV6, Protocol: ProtoICMPv6, RemoteAddr: a("2001:db8::1"), LocalPort: 134}, Block},
		{"neighbour solicitation", Packet{Layer: LayerConnectV6, Protocol: ProtoICMPv6, RemoteAddr: a("ff02::1:ff00:1"), LocalPort: 135}, Permit},
		{"neighbour advertisement", Packet{Layer: LayerRecvAcceptV6, Protocol: ProtoICMPv6, RemoteAddr: a("fe80::1"), LocalPort: 136}, Permit},
		{"echo request outside", Packet{Layer: LayerConnectV6, Protocol: ProtoICMPv6, RemoteAddr: a("2001:db8::1"), LocalPort: 128}, Block},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Verdict(p.Firewall, tc.pkt); got != tc.want {
				t.Errorf("Verdict = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestKillSwitchV4OnlyStillGuardsDNS(t *testing.T) {
	rules := KillSwitch(KillSwitchParams{Block4: true, DNS: []netip.Addr{netip.MustParseAddr("10.0.0.1")}})
	a := netip.MustParseAddr
	if Verdict(rules, Packet{Layer: LayerConnectV6, Protocol: ProtoTCP, RemoteAddr: a("2001:db8::1"), RemotePort: 443}) != Permit {
		t.Error("IPv4-only kill switch blocks IPv6 web traffic")
	}
	if Verdict(rules, Packet{Layer: LayerConnectV6, Protocol: ProtoUDP, RemoteAddr: a("2001:db8::53"), RemotePort: 53}) != Block {
		t.Error("IPv4-only kill switch lets DNS leak over IPv6")
	}
	if KillSwitch(KillSwitchParams{}) != nil {
		t.Error("kill switch without a blocked family has rules")
	}
	// Without tunnel DNS the system resolver is left alone for IPv6.
	rules = KillSwitch(KillSwitchParams{Block4: true})
	if Verdict(rules, Packet{Layer: LayerConnectV6, Protocol: ProtoUDP, RemoteAddr: a("2001:db8::53"), RemotePort: 53}) != Permit {
		t.Error("IPv6 DNS blocked though the tunnel sets no DNS")
	}
}

func TestKillSwitchRulesWellFormed(t *testing.T) {
	rules := KillSwitch(KillSwitchParams{Block4: true, Block6: true, DNS: []netip.Addr{netip.MustParseAddr("10.0.0.1")},
		Endpoints: []netip.AddrPort{netip.MustParseAddrPort("[2001:db8::7]:51820"), netip.MustParseAddrPort("[::ffff:192.0.2.7]:1")}})
	for _, r := range rules {
		if r.Name == "" || r.Layer < LayerConnectV4 || r.Layer > LayerRecvAcceptV6 || (r.Action != Permit && r.Action != Block) {
			t.Errorf("malformed rule %v", r)
		}
		for _, c := range r.Conditions {
			if c.Field == FieldRemoteAddr && c.Prefix.Addr().Is6() != r.Layer.Is6() {
				t.Errorf("rule %v: address family differs from its layer", r)
			}
		}
		if r.Action == Block && r.Weight >= WeightDHCPNDP {
			t.Errorf("block rule %v outranks the permits", r)
		}
		_ = r.String()
	}
}

func TestConflicts(t *testing.T) {
	full := plan(t, "full", "[Interface]\nAddress = 10.9.0.2/32\n[Peer]\nPublicKey = "+pub1+"\nAllowedIPs = 0.0.0.0/0, ::/0\n")
	full2 := plan(t, "full2", "[Interface]\nAddress = 10.8.0.2/32\n[Peer]\nPublicKey = "+pub1+"\nAllowedIPs = 0.0.0.0/0\n")
	lab := plan(t, "lab", "[Interface]\nAddress = 10.7.0.2/32\n[Peer]\nPublicKey = "+pub1+"\nAllowedIPs = 10.7.0.0/16, 192.168.5.0/24\n")
	office := plan(t, "office", "[Interface]\nAddress = 10.6.0.2/32\n[Peer]\nPublicKey = "+pub1+"\nAllowedIPs = 10.0.0.0/8\n[Peer]\nPublicKey = "+pub2+"\nAllowedIPs = 172.16.0.0/12\n")

	if ws := Conflicts([]*Plan{lab}); len(ws) != 0 {
		t.Errorf("one tunnel: %v", ws)
	}
	if ws := Conflicts([]*Plan{full, plan(t, "dmz", "[Interface]\n[Peer]\nPublicKey = "+pub1+"\nAllowedIPs = 192.0.2.0/24\n")}); !hasKind(ws, KillSwitchBlocksOther) {
		t.Errorf("full + split: want a kill-switch warning, got %v", ws)
	}

	ws := Conflicts([]*Plan{full, full2, lab, office})
	var got []string
	for _, w := range ws {
		got = append(got, fmt.Sprintf("%v %v %v", w.Kind, w.Tunnels, w.Prefixes))
		if w.String() == "" {
			t.Errorf("empty text for %v", w)
		}
	}
	want := []string{
		fmt.Sprintf("%v [full full2] []", BothDefaultRouteIPv4),
		fmt.Sprintf("%v [lab office] [10.7.0.0/16 10.0.0.0/8]", OverlappingAllowedIPs),
		fmt.Sprintf("%v [full full2] []", KillSwitchBlocksOther),
		fmt.Sprintf("%v [full lab] []", KillSwitchBlocksOther),
		fmt.Sprintf("%v [full office] []", KillSwitchBlocksOther),
		fmt.Sprintf("%v [full2 full] []", KillSwitchBlocksOther),
		fmt.Sprintf("%v [full2 lab] []", KillSwitchBlocksOther),
		fmt.Sprintf("%v [full2 office] []", KillSwitchBlocksOther),
	}
	if !slices.Equal(got, want) {
		t.Errorf("Conflicts:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(ws[0].String(), "IPv4 default route") {
		t.Errorf("text: %q", ws[0].String())
	}
}

func hasKind(ws []Warning, k WarningKind) bool {
	return slices.ContainsFunc(ws, func(w Warning) bool { return w.Kind == k })
}

func Example() {
	f, err := conf.Parse("home", []byte(`[Interface]
Address = 10.9.0.2/32
DNS = 10.9.0.1, home.example
[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
AllowedIPs = 0.0.0.0/0
`), conf.Options{Quick: true})
	if err != nil {
		panic(err)
	}
	p, err := NewPlan("home", f, Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println(p)
	// Output:
	// tunnel home: mtu 1420
	//   address 10.9.0.2/32
	//   route 0.0.0.0/1 metric 0
	//   route 128.0.0.0/1 metric 0
	//   dns 10.9.0.1
	//   dns search home.example
	//   kill switch: 29 firewall rules
}
