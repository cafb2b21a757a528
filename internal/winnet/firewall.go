package winnet

import (
	"fmt"
	"net/netip"
	"strings"
)

// Layer is the WFP layer a rule filters at.
type Layer int

// The layers the kill switch uses: connection authorisation, outbound
// (connect) and inbound (receive/accept), per address family.
const (
	LayerConnectV4 Layer = iota + 1
	LayerConnectV6
	LayerRecvAcceptV4
	LayerRecvAcceptV6
)

// Is6 reports whether the layer filters IPv6.
func (l Layer) Is6() bool { return l == LayerConnectV6 || l == LayerRecvAcceptV6 }

func (l Layer) String() string {
	switch l {
	case LayerConnectV4:
		return "connect-v4"
	case LayerConnectV6:
		return "connect-v6"
	case LayerRecvAcceptV4:
		return "recv-accept-v4"
	case LayerRecvAcceptV6:
		return "recv-accept-v6"
	}
	return fmt.Sprintf("layer(%d)", int(l))
}

// Action is what a matching rule does.
type Action int

// Actions.
const (
	Permit Action = iota + 1
	Block
)

func (a Action) String() string {
	switch a {
	case Permit:
		return "permit"
	case Block:
		return "block"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Field is what a condition tests.
type Field int

// Fields. Conditions on the same field are alternatives (any may match);
// conditions on different fields must all match, as WFP evaluates them.
const (
	// FieldTunnelInterface matches traffic on the tunnel's own adapter
	// (its LUID is known only when the plan is applied). No value.
	FieldTunnelInterface Field = iota + 1
	// FieldOwnApp matches traffic of the running executable (warren.exe),
	// which carries the tunnel's encrypted UDP to its endpoints. No value.
	FieldOwnApp
	// FieldLoopback matches loopback traffic. No value.
	FieldLoopback
	// FieldProtocol matches an IP protocol number (Value).
	FieldProtocol
	// FieldRemoteAddr matches a remote address in Prefix.
	FieldRemoteAddr
	// FieldRemotePort matches a remote port (Value).
	FieldRemotePort
	// FieldLocalPort matches a local port (Value).
	FieldLocalPort
	// FieldICMPType matches an ICMP(v6) type (Value); WFP carries it in the
	// local-port field at the ALE layers.
	FieldICMPType
)

func (f Field) String() string {
	switch f {
	case FieldTunnelInterface:
		return "tunnel-interface"
	case FieldOwnApp:
		return "own-app"
	case FieldLoopback:
		return "loopback"
	case FieldProtocol:
		return "protocol"
	case FieldRemoteAddr:
		return "remote-addr"
	case FieldRemotePort:
		return "remote-port"
	case FieldLocalPort:
		return "local-port"
	case FieldICMPType:
		return "icmp-type"
	}
	return fmt.Sprintf("field(%d)", int(f))
}

// IP protocol numbers the rules name.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// Condition is one test of a rule.
type Condition struct {
	Field  Field
	Value  uint16       // port, protocol or ICMP type
	Prefix netip.Prefix // FieldRemoteAddr
}

func (c Condition) String() string {
	switch c.Field {
	case FieldTunnelInterface, FieldOwnApp, FieldLoopback:
		return c.Field.String()
	case FieldRemoteAddr:
		return fmt.Sprintf("%v=%v", c.Field, c.Prefix)
	}
	return fmt.Sprintf("%v=%d", c.Field, c.Value)
}

// Rule is one WFP filter. Within the tunnel's sublayer the matching rule
// of highest Weight decides.
type Rule struct {
	Name       string
	Layer      Layer
	Action     Action
	Weight     uint8
	Conditions []Condition
}

func (r Rule) String() string {
	cs := make([]string, len(r.Conditions))
	for i, c := range r.Conditions {
		cs[i] = c.String()
	}
	return fmt.Sprintf("%-14v w%-2d %-6v %s [%s]", r.Layer, r.Weight, r.Action, r.Name, strings.Join(cs, " "))
}

// Rule weights: the first matching rule, highest weight first, decides.
const (
	WeightOwnApp    = 15 // the tunnel's encrypted traffic, wherever the endpoint roams
	WeightEndpoint  = 14 // the endpoints as resolved when the tunnel came up
	WeightLoopback  = 13
	WeightTunnel    = 12 // everything through the tunnel adapter, DNS included
	WeightDHCPNDP   = 11 // keep the physical link configured
	WeightBlockDNS  = 10 // DNS anywhere else, both families
	WeightBlockRest = 0  // the catch-all block of a family the tunnel took over
)

// KillSwitchParams select the kill switch's rules.
type KillSwitchParams struct {
	// Block4 and Block6 block untunneled traffic of that family (the
	// tunnel holds its /0).
	Block4, Block6 bool
	// DNS servers of the tunnel: when set, DNS (port 53) is blocked outside
	// the tunnel for both families, so a resolver on the physical link
	// cannot learn the queries even for a family the tunnel does not take.
	DNS []netip.Addr
	// Endpoints permitted explicitly (UDP to addr:port).
	Endpoints []netip.AddrPort
}

// KillSwitch returns the firewall rules that keep a default-route tunnel's
// traffic from leaking: everything of a blocked family is dropped unless it
// goes through the tunnel adapter, is the tunnel's own encrypted traffic
// (the running executable, and its endpoints), stays on loopback, or keeps
// the physical link alive (DHCP, NDP); DNS leaves only through the tunnel.
func KillSwitch(p KillSwitchParams) []Rule {
	if !p.Block4 && !p.Block6 {
		return nil
	}
	var rs []Rule
	both := func(name string, action Action, weight uint8, v4, v6 bool, conds ...Condition) {
		for _, l := range []Layer{LayerConnectV4, LayerRecvAcceptV4, LayerConnectV6, LayerRecvAcceptV6} {
			if (l.Is6() && !v6) || (!l.Is6() && !v4) {
				continue
			}
			rs = append(rs, Rule{Name: name, Layer: l, Action: action, Weight: weight, Conditions: conds})
		}
	}
	// The permits hold for both families whenever the kill switch is on:
	// they only matter where a block below would otherwise match.
	both("permit warren's own traffic", Permit, WeightOwnApp, true, true, Condition{Field: FieldOwnApp})
	for _, ep := range p.Endpoints {
		a := ep.Addr().Unmap()
		if !a.IsValid() {
			continue
		}
		layer := LayerConnectV4
		if a.Is6() {
			layer = LayerConnectV6
		}
		rs = append(rs, Rule{
			Name: "permit endpoint " + netip.AddrPortFrom(a, ep.Port()).String(), Layer: layer, Action: Permit, Weight: WeightEndpoint,
			Conditions: []Condition{
				{Field: FieldProtocol, Value: ProtoUDP},
				{Field: FieldRemoteAddr, Prefix: netip.PrefixFrom(a, a.BitLen())},
				{Field: FieldRemotePort, Value: ep.Port()},
			},
		})
	}
	both("permit loopback", Permit, WeightLoopback, true, true, Condition{Field: FieldLoopback})
	both("permit tunnel interface", Permit, WeightTunnel, true, true, Condition{Field: FieldTunnelInterface})

	// DHCPv4: client port 68 to server port 67, out to the broadcast or
	// the server, and the server's answer in.
	rs = append(rs,
		Rule{Name: "permit DHCPv4 requests", Layer: LayerConnectV4, Action: Permit, Weight: WeightDHCPNDP, Conditions: []Condition{
			{Field: FieldProtocol, Value: ProtoUDP}, {Field: FieldLocalPort, Value: 68}, {Field: FieldRemotePort, Value: 67}}},
		Rule{Name: "permit DHCPv4 replies", Layer: LayerRecvAcceptV4, Action: Permit, Weight: WeightDHCPNDP, Conditions: []Condition{
			{Field: FieldProtocol, Value: ProtoUDP}, {Field: FieldLocalPort, Value: 68}, {Field: FieldRemotePort, Value: 67}}},
	)
	// DHCPv6: client 546 to server/relay 547 on link-local multicast, and
	// back from link-local addresses.
	linkLocal := netip.MustParsePrefix("fe80::/10")
	rs = append(rs,
		Rule{Name: "permit DHCPv6 requests", Layer: LayerConnectV6, Action: Permit, Weight: WeightDHCPNDP, Conditions: []Condition{
			{Field: FieldProtocol, Value: ProtoUDP}, {Field: FieldRemoteAddr, Prefix: netip.MustParsePrefix("ff02::1:2/128")},
			{Field: FieldLocalPort, Value: 546}, {Field: FieldRemotePort, Value: 547}}},
		Rule{Name: "permit DHCPv6 replies", Layer: LayerRecvAcceptV6, Action: Permit, Weight: WeightDHCPNDP, Conditions: []Condition{
			{Field: FieldProtocol, Value: ProtoUDP}, {Field: FieldRemoteAddr, Prefix: linkLocal},
			{Field: FieldLocalPort, Value: 546}, {Field: FieldRemotePort, Value: 547}}},
	)
	// NDP (RFC 4861): router solicitation 133 out to routers; router
	// advertisement 134 in from link-local routers; neighbour solicitation
	// 135 and advertisement 136 both ways; redirect 137 in from link-local.
	ndp := func(name string, layer Layer, typ uint16, from netip.Prefix) {
		cs := []Condition{{Field: FieldProtocol, Value: ProtoICMPv6}, {Field: FieldICMPType, Value: typ}}
		if from.IsValid() {
			cs = append(cs, Condition{Field: FieldRemoteAddr, Prefix: from})
		}
		rs = append(rs, Rule{Name: name, Layer: layer, Action: Permit, Weight: WeightDHCPNDP, Conditions: cs})
	}
	ndp("permit NDP router solicitation", LayerConnectV6, 133, netip.MustParsePrefix("ff02::2/128"))
	ndp("permit NDP router advertisement", LayerRecvAcceptV6, 134, linkLocal)
	ndp("permit NDP neighbour solicitation out", LayerConnectV6, 135, netip.Prefix{})
	ndp("permit NDP neighbour solicitation in", LayerRecvAcceptV6, 135, netip.Prefix{})
	ndp("permit NDP neighbour advertisement out", LayerConnectV6, 136, netip.Prefix{})
	ndp("permit NDP neighbour advertisement in", LayerRecvAcceptV6, 136, netip.Prefix{})
	ndp("permit NDP redirect", LayerRecvAcceptV6, 137, linkLocal)

	if len(p.DNS) > 0 {
		for _, proto := range []uint16{ProtoUDP, ProtoTCP} {
			for _, l := range []Layer{LayerConnectV4, LayerConnectV6} {
				rs = append(rs, Rule{Name: "block DNS outside the tunnel", Layer: l, Action: Block, Weight: WeightBlockDNS,
					Conditions: []Condition{{Field: FieldProtocol, Value: proto}, {Field: FieldRemotePort, Value: 53}}})
			}
		}
	}
	both("block untunneled traffic", Block, WeightBlockRest, p.Block4, p.Block6)
	return rs
}

// Verdict evaluates rules for one connection the way WFP evaluates one
// sublayer: the matching rule of highest weight decides; with none, the
// traffic is not this sublayer's business (permitted). It exists so tests
// and diagnostics can ask "would this leak?" of a rule set.
func Verdict(rules []Rule, pkt Packet) Action {
	best, bestWeight := Permit, -1
	for _, r := range rules {
		if r.Layer != pkt.Layer || int(r.Weight) <= bestWeight || !r.matches(pkt) {
			continue
		}
		best, bestWeight = r.Action, int(r.Weight)
	}
	return best
}

// Packet describes a connection for Verdict.
type Packet struct {
	Layer           Layer
	TunnelInterface bool // on the tunnel's adapter
	OwnApp          bool // sent or received by warren.exe
	Loopback        bool
	Protocol        uint8
	RemoteAddr      netip.Addr
	RemotePort      uint16
	LocalPort       uint16 // the ICMP type for ICMP
}

func (r Rule) matches(p Packet) bool {
	fields := map[Field]bool{} // field → some condition on it matched
	for _, c := range r.Conditions {
		ok := false
		switch c.Field {
		case FieldTunnelInterface:
			ok = p.TunnelInterface
		case FieldOwnApp:
			ok = p.OwnApp
		case FieldLoopback:
			ok = p.Loopback
		case FieldProtocol:
			ok = uint16(p.Protocol) == c.Value
		case FieldRemoteAddr:
			ok = c.Prefix.Contains(p.RemoteAddr)
		case FieldRemotePort:
			ok = p.RemotePort == c.Value
		case FieldLocalPort, FieldICMPType:
			ok = p.LocalPort == c.Value
		}
		fields[c.Field] = fields[c.Field] || ok
	}
	for _, ok := range fields {
		if !ok {
			return false
		}
	}
	return true
}
