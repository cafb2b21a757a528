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

// TestPlanOnlyIPv4Default: a tunnel holding only 0.0.0.0/0 routes only
// IPv4, but its kill switch blocks IPv6 too (defect 4 of issue 10: before,
// IPv6 left beside the tunnel).
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
	a := netip.MustParseAddr
	for _, pkt := range []Packet{
		{Layer: LayerConnectV6, Protocol: ProtoTCP, RemoteAddr: a("2001:db8::1"), RemotePort: 443},
		{Layer: LayerConnectV6, Protocol: ProtoUDP, RemoteAddr: a("2001:db8::53"), RemotePort: 53},
		{Layer: LayerRecvAcceptV6, Protocol: ProtoTCP, RemoteAddr: a("2001:db8::1"), LocalPort: 22},
		{Layer: LayerConnectV4, Protocol: ProtoTCP, RemoteAddr: a("93.184.216.34"), RemotePort: 443},
	} {
		if got := Verdict(p.Firewall, pkt); got != Block {
			t.Errorf("IPv4-only tunnel: %+v from another process: %v, want block", pkt, got)
		}
	}
}

// TestPlanSplitDefaultIdiom: 0.0.0.0/1 + 128.0.0.0/1 takes all IPv4
// traffic but is how a user asks for no kill switch (as with WireGuard for
// Windows), so it gets none.
func TestPlanSplitDefaultIdiom(t *testing.T) {
	p := plan(t, "idiom", "[Interface]\nAddress = 10.9.0.2/32\n[Peer]\nPublicKey = "+pub1+"\nAllowedIPs = 0.0.0.0/1, 128.0.0.0/1\n")
	if p.DefaultRoute4 || p.DefaultRoute6 || len(p.Firewall) != 0 {
		t.Errorf("split idiom: default routes %v/%v, %d rules; want none", p.DefaultRoute4, p.DefaultRoute6, len(p.Firewall))
	}
	if want := prefixes("0.0.0.0/1", "128.0.0.0/1"); !slices.Equal(routePrefixes(p.Routes), want) {
		t.Errorf("Routes = %v, want %v", routePrefixes(p.Routes), want)
	}
}

// TestPlanTableOff: Table = off means no routes, no default-route claim
// (nothing to pin), no kill switch, so nothing is blocked (defect 4).
func TestPlanTableOff(t *testing.T) {
	p, err := NewPlan("off", parse(t, "off", `[Interface]
Address = 10.9.0.2/32, fd09::2/128
DNS = 10.9.0.1
Table = off
[Peer]
PublicKey = `+pub1+`
AllowedIPs = 0.0.0.0/0, ::/0
`), Options{ServiceName: "WarrenTunnel$off"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.TableOff || len(p.Routes) != 0 || p.DefaultRoute4 || p.DefaultRoute6 || len(p.Firewall) != 0 {
		t.Fatalf("Table = off: TableOff %v, routes %v, default routes %v/%v, %d rules; want true, none, false/false, none",
			p.TableOff, p.Routes, p.DefaultRoute4, p.DefaultRoute6, len(p.Firewall))
	}
	a := netip.MustParseAddr
	for _, pkt := range []Packet{
		{Layer: LayerConnectV4, Protocol: ProtoTCP, RemoteAddr: a("93.184.216.34"), RemotePort: 443},
		{Layer: LayerConnectV6, Protocol: ProtoUDP, RemoteAddr: a("2001:db8::53"), RemotePort: 53},
	} {
		if got := Verdict(p.Firewall, pkt); got != Permit {
			t.Errorf("Table = off: %+v: %v, want permit", pkt, got)
		}
	}
	if s := p.String(); !strings.Contains(s, "table off") || strings.Contains(s, "route ") {
		t.Errorf("String() = %q", s)
	}
	// Other tables leave the plan alone.
	for _, table := range []string{"auto", "main", "1234"} {
		p := plan(t, "t", "[Interface]\nTable = "+table+"\n[Peer]\nPublicKey = "+pub1+"\nAllowedIPs = 0.0.0.0/0\n")
		if p.TableOff || !p.DefaultRoute4 || len(p.Firewall) == 0 {
			t.Errorf("Table = %s: TableOff %v, DefaultRoute4 %v, %d rules", table, p.TableOff, p.DefaultRoute4, len(p.Firewall))
		}
	}
	// Routing nothing, Table = off tunnels overlap nothing.
	other := plan(t, "other", "[Interface]\nTable = off\n[Peer]\nPublicKey = "+pub1+"\nAllowedIPs = 10.0.0.0/8\n")
	lab := plan(t, "lab", "[Interface]\n[Peer]\nPublicKey = "+pub1+"\nAllowedIPs = 10.1.0.0/16\n")
	if ws := Conflicts([]*Plan{p, other, lab}); len(ws) != 0 {
		t.Errorf("Conflicts with Table = off tunnels: %v", ws)
	}
}

// TestPlanOwner: whom the kill switch lets through.
func TestPlanOwner(t *testing.T) {
	f := parse(t, "o", "[Interface]\n[Peer]\nPublicKey = "+pub1+"\nAllowedIPs = ::/0\n")
	p, err := NewPlan("o", f, Options{ServiceName: "WarrenTunnel$o"})
	if err != nil {
		t.Fatal(err)
	}
	if want := ServiceSID("WarrenTunnel$o"); p.Owner != want {
		t.Errorf("Owner = %q, want the service SID %q", p.Owner, want)
	}
	for _, r := range p.Firewall {
		if r.Action == Permit && slices.ContainsFunc(r.Conditions, func(c Condition) bool { return c.Field == FieldOwnApp }) &&
			!slices.Contains(r.Conditions, Condition{Field: FieldOwnerSID, SID: p.Owner}) {
			t.Errorf("own-app permit not bound to the owner: %v", r)
		}
	}
	user := "S-1-5-21-1004336348-1177238915-682003330-512"
	if p, err := NewPlan("o", f, Options{OwnerSID: user}); err != nil || p.Owner != user {
		t.Errorf("OwnerSID: %v, owner %q", err, p.Owner)
	}
	for _, o := range []Options{
		{OwnerSID: "S-1-5-21-x"},
		{OwnerSID: "S-1-5-21-1)(A;;GA;;;WD"},
		{OwnerSID: user, ServiceName: "WarrenTunnel$o"},
	} {
		if _, err := NewPlan("o", f, o); !errors.Is(err, ErrPlan) {
			t.Errorf("NewPlan(%+v) = %v, want ErrPlan", o, err)
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
`), Options{Endpoints: []netip.AddrPort{ep}, ServiceName: "WarrenTunnel$full"})
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	service := []string{"S-1-5-18", ServiceSID("WarrenTunnel$full")}
	user := []string{"S-1-5-21-1004336348-1177238915-682003330-1001", "S-1-5-32-545"}
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
		{"DNS through the tunnel to another server", Packet{Layer: LayerConnectV4, TunnelInterface: true, Protocol: ProtoUDP, RemoteAddr: a("8.8.8.8"), RemotePort: 53}, Block},
		{"DNS to the tunnel's server on the LAN side", Packet{Layer: LayerConnectV4, Protocol: ProtoTCP, RemoteAddr: a("10.9.0.1"), RemotePort: 53}, Permit},
		{"DNS to the LAN resolver", Packet{Layer: LayerConnectV4, Protocol: ProtoUDP, RemoteAddr: a("192.168.1.1"), RemotePort: 53}, Block},
		{"DNS over TCP to the LAN", Packet{Layer: LayerConnectV6, Protocol: ProtoTCP, RemoteAddr: a("fe80::1"), RemotePort: 53}, Block},
		{"DNS on loopback", Packet{Layer: LayerConnectV4, Loopback: true, Protocol: ProtoUDP, RemoteAddr: a("127.0.0.1"), RemotePort: 53}, Block},
		{"the service's encrypted traffic", Packet{Layer: LayerConnectV4, OwnApp: true, SIDs: service, Protocol: ProtoUDP, RemoteAddr: a("203.0.113.9"), RemotePort: 51820}, Permit},
		{"the service's traffic to the endpoint", Packet{Layer: LayerConnectV4, OwnApp: true, SIDs: service, Protocol: ProtoUDP, RemoteAddr: ep.Addr(), RemotePort: ep.Port()}, Permit},
		{"the service's traffic to an endpoint on port 53", Packet{Layer: LayerConnectV6, OwnApp: true, SIDs: service, Protocol: ProtoUDP, RemoteAddr: a("2001:db8::9"), RemotePort: 53}, Permit},
		{"warren.exe run by a user", Packet{Layer: LayerConnectV4, OwnApp: true, SIDs: user, Protocol: ProtoTCP, RemoteAddr: a("93.184.216.34"), RemotePort: 443}, Block},
		{"warren.exe run by a user, v6", Packet{Layer: LayerConnectV6, OwnApp: true, SIDs: user, Protocol: ProtoUDP, RemoteAddr: a("2001:db8::1"), RemotePort: 51820}, Block},
		{"warren.exe run by a user, to the endpoint", Packet{Layer: LayerConnectV4, OwnApp: true, SIDs: user, Protocol: ProtoUDP, RemoteAddr: ep.Addr(), RemotePort: ep.Port()}, Block},
		{"another program as the service", Packet{Layer: LayerConnectV4, SIDs: service, Protocol: ProtoTCP, RemoteAddr: a("93.184.216.34"), RemotePort: 443}, Block},
		{"endpoint from another process", Packet{Layer: LayerConnectV4, SIDs: user, Protocol: ProtoUDP, RemoteAddr: ep.Addr(), RemotePort: ep.Port()}, Block},
		{"loopback", Packet{Layer: LayerConnectV4, Loopback: true, Protocol: ProtoTCP, RemoteAddr: a("127.0.0.1"), RemotePort: 8080}, Permit},
		{"DHCPv4 discover", Packet{Layer: LayerConnectV4, Protocol: ProtoUDP, RemoteAddr: a("255.255.255.255"), RemotePort: 67, LocalPort: 68}, Permit},
		{"UDP from port 68 to a host's port 67", Packet{Layer: LayerConnectV4, Protocol: ProtoUDP, RemoteAddr: a("93.184.216.34"), RemotePort: 67, LocalPort: 68}, Block},
		{"loopback v6", Packet{Layer: LayerRecvAcceptV6, Loopback: true, Protocol: ProtoTCP, RemoteAddr: a("::1"), LocalPort: 8080}, Permit},
		{"DHCPv4 discover", Packet{Layer: LayerConnectV4, Protocol: ProtoUDP, RemoteAddr: a("255.255.255.255"), RemotePort: 67, LocalPort: 68}, Permit},
		{"DHCPv4 offer", Packet{Layer: LayerRecvAcceptV4, Protocol: ProtoUDP, RemoteAddr: a("192.168.1.1"), RemotePort: 67, LocalPort: 68}, Permit},
		{"DHCPv6 solicit", Packet{Layer: LayerConnectV6, Protocol: ProtoUDP, LocalAddr: a("fe80::2"), RemoteAddr: a("ff02::1:2"), RemotePort: 547, LocalPort: 546}, Permit},
		{"DHCPv6 advertise", Packet{Layer: LayerRecvAcceptV6, Protocol: ProtoUDP, LocalAddr: a("fe80::2"), RemoteAddr: a("fe80::1"), RemotePort: 547, LocalPort: 546}, Permit},
		{"DHCPv6 to a global server", Packet{Layer: LayerConnectV6, Protocol: ProtoUDP, LocalAddr: a("fe80::2"), RemoteAddr: a("2001:db8::547"), RemotePort: 547, LocalPort: 546}, Block},
		{"DHCPv6 solicit from a global address", Packet{Layer: LayerConnectV6, Protocol: ProtoUDP, LocalAddr: a("2001:db8::2"), RemoteAddr: a("ff02::1:2"), RemotePort: 547, LocalPort: 546}, Block},
		{"router solicitation", Packet{Layer: LayerConnectV6, Protocol: ProtoICMPv6, RemoteAddr: a("ff02::2"), LocalPort: 133}, Permit},
		{"router solicitation, code 1", Packet{Layer: LayerConnectV6, Protocol: ProtoICMPv6, RemoteAddr: a("ff02::2"), LocalPort: 133, RemotePort: 1}, Block},
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

// TestKillSwitchHardPermits: the owner's permits clear the action right,
// so a block in a lower-priority sublayer (another firewall) cannot cut
// the tunnel off, while the soft permits (loopback, tunnel interface)
// leave such a block in force, as WFP arbitrates.
func TestKillSwitchHardPermits(t *testing.T) {
	owner := ServiceSID("WarrenTunnel$x")
	rules := KillSwitch(KillSwitchParams{Owner: owner})
	other := []Rule{{Name: "another firewall blocks everything", Layer: LayerConnectV4, Action: Block, Weight: 0}}
	a := netip.MustParseAddr
	own := Packet{Layer: LayerConnectV4, OwnApp: true, SIDs: []string{owner}, Protocol: ProtoUDP, RemoteAddr: a("192.0.2.1"), RemotePort: 51820}
	if got := Arbitrate(own, rules, other); got != Permit {
		t.Errorf("own traffic under another sublayer's block: %v, want permit", got)
	}
	tunnel := Packet{Layer: LayerConnectV4, TunnelInterface: true, Protocol: ProtoTCP, RemoteAddr: a("192.0.2.1"), RemotePort: 443}
	if got := Arbitrate(tunnel, rules, other); got != Block {
		t.Errorf("tunnel traffic under another sublayer's block: %v, want block (a soft permit)", got)
	}
	if got := Arbitrate(tunnel, rules); got != Permit {
		t.Errorf("tunnel traffic: %v, want permit", got)
	}
	// Without the flag the same permit would be overridden.
	soft := slices.Clone(rules)
	for i := range soft {
		soft[i].Flags = 0
	}
	if got := Arbitrate(own, soft, other); got != Block {
		t.Errorf("soft own-traffic permit under another sublayer's block: %v, want block", got)
	}
	// Our block is final whatever a lower sublayer permits.
	permitAll := []Rule{{Layer: LayerConnectV4, Action: Permit, Flags: FlagClearActionRight}}
	if got := Arbitrate(Packet{Layer: LayerConnectV4, Protocol: ProtoTCP, RemoteAddr: a("192.0.2.1")}, rules, permitAll); got != Block {
		t.Errorf("blocked traffic under another sublayer's permit: %v, want block", got)
	}
	for _, r := range rules {
		hard := r.Flags&FlagClearActionRight != 0
		ownerBound := slices.ContainsFunc(r.Conditions, func(c Condition) bool { return c.Field == FieldOwnerSID })
		if hard != ownerBound {
			t.Errorf("rule %v: hard permit %v, bound to the owner %v; want both or neither", r, hard, ownerBound)
		}
	}
}

// TestKillSwitchMultiplePeers: any peer's /0 engages the switch (an
// intentional difference: WireGuard for Windows restricts only a tunnel of
// exactly one peer).
func TestKillSwitchMultiplePeers(t *testing.T) {
	p := plan(t, "two", "[Interface]\n[Peer]\nPublicKey = "+pub1+"\nAllowedIPs = 0.0.0.0/0\n[Peer]\nPublicKey = "+pub2+"\nAllowedIPs = 10.7.0.0/16\n")
	pkt := Packet{Layer: LayerConnectV6, Protocol: ProtoTCP, RemoteAddr: netip.MustParseAddr("2001:db8::1"), RemotePort: 443}
	if got := Verdict(p.Firewall, pkt); got != Block {
		t.Errorf("two peers, one with 0.0.0.0/0: IPv6 web %v, want block", got)
	}
}

func TestKillSwitchRulesWellFormed(t *testing.T) {
	rules := KillSwitch(KillSwitchParams{Owner: ServiceSID("WarrenTunnel$x"), DNS: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")},
		Endpoints: []netip.AddrPort{netip.MustParseAddrPort("[2001:db8::7]:51820"), netip.MustParseAddrPort("[::ffff:192.0.2.7]:1")}})
	for _, r := range rules {
		if r.Name == "" || r.Layer < LayerConnectV4 || r.Layer > LayerRecvAcceptV6 || (r.Action != Permit && r.Action != Block) {
			t.Errorf("malformed rule %v", r)
		}
		for _, c := range r.Conditions {
			if (c.Field == FieldRemoteAddr || c.Field == FieldLocalAddr) && c.Prefix.Addr().Is6() != r.Layer.Is6() {
				t.Errorf("rule %v: address family differs from its layer", r)
			}
		}
		// Only the DNS block outranks permits, and only those that are
		// not about DNS servers or the tunnel's own process.
		dnsBlock := r.Action == Block && slices.Contains(r.Conditions, Condition{Field: FieldRemotePort, Value: 53})
		switch {
		case r.Action == Block && !dnsBlock && r.Weight != WeightBlockRest:
			t.Errorf("block rule %v outranks the permits", r)
		case dnsBlock && (r.Weight >= WeightPermitDNS || r.Weight >= WeightOwnApp || r.Weight >= WeightEndpoint):
			t.Errorf("DNS block %v outranks the DNS or own-traffic permits", r)
		}
		_ = r.String()
	}
	if n := len(rules); n != len(KillSwitch(KillSwitchParams{}))+2+4+4 {
		t.Errorf("%d rules: want the base set, 2 endpoints, 4 DNS blocks and 4 DNS permits", n)
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
	// The tunnel service WarrenTunnel$home runs it: the kill switch lets
	// through only warren.exe running with that service's SID.
	p, err := NewPlan("home", f, Options{ServiceName: "WarrenTunnel$home"})
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
	//   kill switch: 33 firewall rules, both families, letting through warren.exe as S-1-5-80-688588759-3253017372-1252058721-28504913-3858365389
}
