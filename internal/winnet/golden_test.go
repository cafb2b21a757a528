package winnet

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current plans")

// The kill switch of WireGuard for Windows v1.1.1, transcribed as data
// from tunnel/firewall/rules.go, with the weights blocker.go's
// EnableFirewall passes and the condition its enableFirewall
// (tunnel/addressconfig.go) restricts on: exactly one peer, some
// AllowedIP of it a /0, Table not off. Unrestricted, it installs only
// permitWireGuardService. Within a sublayer WFP orders filters by weight,
// not by the order they were added, so the rule sets compare as sets.
// Owner stands for the service SID its getCurrentProcessSecurityDescriptor
// finds in the token; exact addresses (its FWP_UINT32 and
// FWP_BYTE_ARRAY16 values) are written as /32 and /128 prefixes, which
// warren encodes the same way.
var (
	refAllLayers = []Layer{LayerConnectV4, LayerRecvAcceptV4, LayerConnectV6, LayerRecvAcceptV6}

	// permitWireGuardService(session, objects, 15)
	refPermitService = func(owner string) []Rule {
		return refEach(refAllLayers, Rule{Action: Permit, Weight: 15, Flags: FlagClearActionRight,
			Conditions: []Condition{{Field: FieldOwnApp}, {Field: FieldOwnerSID, SID: owner}}})
	}
	// blockDNS(DNS, session, objects, 15, 14)
	refDNS = []Condition{{Field: FieldRemotePort, Value: 53}, {Field: FieldProtocol, Value: ProtoUDP}, {Field: FieldProtocol, Value: ProtoTCP}}
	// permitLoopback(session, objects, 13)
	refPermitLoopback = refEach(refAllLayers, Rule{Action: Permit, Weight: 13, Conditions: []Condition{{Field: FieldLoopback}}})
	// permitTunInterface(session, objects, 12, luid)
	refPermitTun = refEach(refAllLayers, Rule{Action: Permit, Weight: 12, Conditions: []Condition{{Field: FieldTunnelInterface}}})
	// permitDHCPIPv4(session, objects, 12)
	refDHCPv4Request = Rule{Layer: LayerConnectV4, Action: Permit, Weight: 12, Conditions: []Condition{
		{Field: FieldProtocol, Value: ProtoUDP}, {Field: FieldLocalPort, Value: 68}, {Field: FieldRemotePort, Value: 67},
		{Field: FieldRemoteAddr, Prefix: netip.MustParsePrefix("255.255.255.255/32")}}}
	refPermitDHCPv4 = []Rule{refDHCPv4Request,
		{Layer: LayerRecvAcceptV4, Action: Permit, Weight: 12, Conditions: []Condition{
			{Field: FieldProtocol, Value: ProtoUDP}, {Field: FieldLocalPort, Value: 68}, {Field: FieldRemotePort, Value: 67}}}}
	// permitDHCPIPv6(session, objects, 12)
	refPermitDHCPv6 = []Rule{
		{Layer: LayerConnectV6, Action: Permit, Weight: 12, Conditions: []Condition{
			{Field: FieldProtocol, Value: ProtoUDP},
			{Field: FieldRemoteAddr, Prefix: netip.MustParsePrefix("ff02::1:2/128")},
			{Field: FieldRemoteAddr, Prefix: netip.MustParsePrefix("ff05::1:3/128")},
			{Field: FieldRemotePort, Value: 547},
			{Field: FieldLocalAddr, Prefix: netip.MustParsePrefix("fe80::/10")},
			{Field: FieldLocalPort, Value: 546}}},
		{Layer: LayerRecvAcceptV6, Action: Permit, Weight: 12, Conditions: []Condition{
			{Field: FieldProtocol, Value: ProtoUDP},
			{Field: FieldRemoteAddr, Prefix: netip.MustParsePrefix("fe80::/10")},
			{Field: FieldRemotePort, Value: 547},
			{Field: FieldLocalAddr, Prefix: netip.MustParsePrefix("fe80::/10")},
			{Field: FieldLocalPort, Value: 546}}},
	}
	// permitNdp(session, objects, 12)
	refNDP = func(layer Layer, typ uint16, remote string) Rule {
		cs := []Condition{{Field: FieldProtocol, Value: ProtoICMPv6}, {Field: FieldICMPType, Value: typ}, {Field: FieldICMPCode, Value: 0}}
		if remote != "" {
			cs = append(cs, Condition{Field: FieldRemoteAddr, Prefix: netip.MustParsePrefix(remote)})
		}
		return Rule{Layer: layer, Action: Permit, Weight: 12, Conditions: cs}
	}
	refPermitNDP = []Rule{
		refNDP(LayerConnectV6, 133, "ff02::2/128"),
		refNDP(LayerRecvAcceptV6, 134, "fe80::/10"),
		refNDP(LayerConnectV6, 135, ""), refNDP(LayerRecvAcceptV6, 135, ""),
		refNDP(LayerConnectV6, 136, ""), refNDP(LayerRecvAcceptV6, 136, ""),
		refNDP(LayerRecvAcceptV6, 137, "fe80::/10"),
	}
	// permitHyperV is commented out in blocker.go ("if somebody
	// complains, try enabling it"); warren has no such rules either.
	// blockAll(session, objects, 0)
	refBlockAll = refEach(refAllLayers, Rule{Action: Block, Weight: 0})
)

// refBlockDNS is blockDNS's rules for the tunnel's DNS servers: DNS
// blocked at 14 on every layer, permitted at 15 to the servers of each
// family that has some.
func refBlockDNS(dns ...string) []Rule {
	rs := refEach(refAllLayers, Rule{Action: Block, Weight: 14, Conditions: refDNS})
	for _, fam := range []struct {
		is6    bool
		layers []Layer
	}{{false, []Layer{LayerConnectV4, LayerRecvAcceptV4}}, {true, []Layer{LayerConnectV6, LayerRecvAcceptV6}}} {
		cs := slices.Clone(refDNS)
		for _, d := range dns {
			if a := netip.MustParseAddr(d); a.Is6() == fam.is6 {
				cs = append(cs, Condition{Field: FieldRemoteAddr, Prefix: netip.PrefixFrom(a, a.BitLen())})
			}
		}
		if len(cs) > len(refDNS) {
			rs = append(rs, refEach(fam.layers, Rule{Action: Permit, Weight: 15, Conditions: cs})...)
		}
	}
	return rs
}

func refEach(layers []Layer, r Rule) []Rule {
	rs := make([]Rule, len(layers))
	for i, l := range layers {
		rs[i] = r
		rs[i].Layer = l
	}
	return rs
}

// refRestricted is EnableFirewall(luid, false, dns): every rule, in the
// order blocker.go installs them.
func refRestricted(owner string, dns ...string) []Rule {
	var rs []Rule
	rs = append(rs, refPermitService(owner)...)
	if len(dns) > 0 {
		rs = append(rs, refBlockDNS(dns...)...)
	}
	for _, part := range [][]Rule{refPermitLoopback, refPermitTun, refPermitDHCPv4, refPermitDHCPv6, refPermitNDP, refBlockAll} {
		rs = append(rs, part...)
	}
	return rs
}

// A difference between warren's rules and the reference's that warren
// means to have.
type intentional struct {
	// side is the set the rule is in: "warren" or "reference".
	side string
	// match picks the rules of the difference.
	match  func(scenario string, r Rule) bool
	reason string
}

var intentionalDifferences = []intentional{
	{"warren", func(_ string, r Rule) bool { return strings.HasPrefix(r.Name, "permit warren's traffic to endpoint") },
		"warren also permits the owner's UDP to each endpoint resolved at start (owner SID, no app ID): the tunnel keeps " +
			"reaching its peers should the app-ID condition (derived from the executable's path) not match the running " +
			"image; bound to the owner, it lets no other process through"},
	{"reference", func(s string, r Rule) bool {
		return !strings.HasPrefix(s, "two peers") && r.Flags == FlagClearActionRight
	},
		"without a kill switch warren installs no filters; the reference still installs its service's hard permits, " +
			"which only override other firewalls' blocks of the service, which a tunnel that restricts nothing does not need"},
	{"warren", func(s string, _ Rule) bool { return strings.HasPrefix(s, "two peers") },
		"warren engages the kill switch when any peer holds a /0; the reference restricts only a tunnel of exactly one " +
			"peer, so a second peer (a site-to-site link beside a full tunnel) silently turns its kill switch off"},
}

// TestKillSwitchGolden compares warren's kill switch, for the same
// configurations, with the reference's, and its own rules with
// testdata/*.golden (go test -run Golden -update rewrites those).
func TestKillSwitchGolden(t *testing.T) {
	const service = "WarrenTunnel$golden"
	owner := ServiceSID(service)
	endpoint := netip.MustParseAddrPort("198.51.100.7:51820")
	header := "[Interface]\nPrivateKey = " + key1 + "\n"
	peer := "[Peer]\nPublicKey = " + pub1 + "\nEndpoint = " + endpoint.String() + "\n"
	for _, sc := range []struct {
		name, conf string
		reference  []Rule
		golden     string
	}{
		{"full tunnel with DNS", header + "Address = 10.9.0.2/32, fd09::2/128\nDNS = 10.9.0.1, fd09::1\n" + peer + "AllowedIPs = 0.0.0.0/0, ::/0\n",
			refRestricted(owner, "10.9.0.1", "fd09::1"), "killswitch-full.golden"},
		{"IPv4 default route only", header + "Address = 10.9.0.2/32\nDNS = 10.9.0.1\n" + peer + "AllowedIPs = 0.0.0.0/0\n",
			refRestricted(owner, "10.9.0.1"), "killswitch-v4only.golden"},
		{"full tunnel without DNS", header + "Address = 10.9.0.2/32\n" + peer + "AllowedIPs = ::/0, 0.0.0.0/0\n",
			refRestricted(owner), ""},
		{"split tunnel", header + "Address = 10.9.0.2/32\nDNS = 10.9.0.1\n" + peer + "AllowedIPs = 10.9.0.0/24\n",
			refPermitService(owner), ""},
		{"split default idiom", header + "Address = 10.9.0.2/32\n" + peer + "AllowedIPs = 0.0.0.0/1, 128.0.0.0/1\n",
			refPermitService(owner), ""},
		{"Table = off", header + "Address = 10.9.0.2/32\nTable = off\n" + peer + "AllowedIPs = 0.0.0.0/0, ::/0\n",
			refPermitService(owner), ""},
		{"two peers, one with /0", header + "Address = 10.9.0.2/32\n" + peer + "AllowedIPs = 0.0.0.0/0\n[Peer]\nPublicKey = " + pub2 + "\nAllowedIPs = 10.7.0.0/16\n",
			refPermitService(owner), ""},
	} {
		t.Run(sc.name, func(t *testing.T) {
			p, err := NewPlan("golden", parse(t, "golden", sc.conf), Options{ServiceName: service, Endpoints: []netip.AddrPort{endpoint}})
			if err != nil {
				t.Fatal(err)
			}
			used := map[int]bool{}
			explained := func(side string, r Rule) bool {
				for i, d := range intentionalDifferences {
					if d.side == side && d.match(sc.name, r) {
						used[i] = true
						return true
					}
				}
				return false
			}
			onlyWarren, onlyRef := diffRules(p.Firewall, sc.reference)
			for _, r := range onlyWarren {
				if !explained("warren", r) {
					t.Errorf("warren has, the reference has not: %v", r)
				}
			}
			for _, r := range onlyRef {
				if !explained("reference", r) {
					t.Errorf("the reference has, warren has not: %v", r)
				}
			}
			for i, d := range intentionalDifferences {
				if used[i] {
					t.Logf("intentional: %s", d.reason)
				}
			}
			if sc.golden != "" {
				checkGolden(t, filepath.Join("testdata", sc.golden), p.Firewall)
			}
		})
	}
	// Every listed difference still exists: a difference fixed later must
	// leave the list.
	t.Run("every difference occurs", func(t *testing.T) {
		for _, d := range intentionalDifferences {
			found := false
			for _, sc := range []struct {
				name       string
				rules, ref []Rule
			}{
				{"full", KillSwitch(KillSwitchParams{Owner: owner, Endpoints: []netip.AddrPort{endpoint}}), refRestricted(owner)},
				{"split", nil, refPermitService(owner)},
				{"two peers", KillSwitch(KillSwitchParams{Owner: owner}), refPermitService(owner)},
			} {
				w, r := diffRules(sc.rules, sc.ref)
				set := map[string][]Rule{"warren": w, "reference": r}[d.side]
				found = found || slices.ContainsFunc(set, func(r Rule) bool { return d.match(sc.name, r) })
			}
			if !found {
				t.Errorf("listed difference no longer occurs: %s", d.reason)
			}
		}
	})
}

// ruleKey is a rule as WFP sees it: layer, weight, action, flags and the
// conditions in a canonical order; the name is left out.
func ruleKey(r Rule) string {
	cs := make([]string, len(r.Conditions))
	for i, c := range r.Conditions {
		cs[i] = c.String()
	}
	slices.Sort(cs)
	return fmt.Sprintf("%v w%d %v %v [%s]", r.Layer, r.Weight, r.Action, r.Flags, strings.Join(cs, " "))
}

// diffRules returns the rules of a not in b and of b not in a, as
// multisets under ruleKey.
func diffRules(a, b []Rule) (onlyA, onlyB []Rule) {
	count := map[string]int{}
	for _, r := range b {
		count[ruleKey(r)]++
	}
	for _, r := range a {
		if k := ruleKey(r); count[k] > 0 {
			count[k]--
		} else {
			onlyA = append(onlyA, r)
		}
	}
	for _, r := range b {
		if k := ruleKey(r); count[k] > 0 {
			count[k]--
			onlyB = append(onlyB, r)
		}
	}
	return onlyA, onlyB
}

func checkGolden(t *testing.T, path string, rules []Rule) {
	t.Helper()
	var b strings.Builder
	for _, r := range rules {
		fmt.Fprintln(&b, strings.TrimRight(r.String(), " "))
	}
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run Golden -update writes it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("rules differ from %s (go test -run Golden -update rewrites it after review):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}
