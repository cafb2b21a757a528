package winnet

import (
	"fmt"
	"net/netip"
	"slices"
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
	// Any process started from the same file matches it, so the permits
	// pair it with FieldOwnerSID.
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
	// FieldOwnerSID matches traffic of a process whose token holds SID (as
	// its user or an enabled group): WFP's ALE user-ID condition against a
	// security descriptor granting SID the match right.
	FieldOwnerSID
	// FieldLocalAddr matches a local address in Prefix.
	FieldLocalAddr
	// FieldICMPCode matches an ICMP(v6) code (Value); WFP carries it in the
	// remote-port field at the ALE layers.
	FieldICMPCode
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
	case FieldOwnerSID:
		return "owner-sid"
	case FieldLocalAddr:
		return "local-addr"
	case FieldICMPCode:
		return "icmp-code"
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
	Value  uint16       // port, protocol, ICMP type or code
	Prefix netip.Prefix // FieldRemoteAddr, FieldLocalAddr
	SID    string       // FieldOwnerSID, in string form (S-1-5-80-...)
}

func (c Condition) String() string {
	switch c.Field {
	case FieldTunnelInterface, FieldOwnApp, FieldLoopback:
		return c.Field.String()
	case FieldRemoteAddr, FieldLocalAddr:
		return fmt.Sprintf("%v=%v", c.Field, c.Prefix)
	case FieldOwnerSID:
		return fmt.Sprintf("%v=%s", c.Field, c.SID)
	}
	return fmt.Sprintf("%v=%d", c.Field, c.Value)
}

// RuleFlags modify how WFP treats a rule's decision.
type RuleFlags uint32

// Rule flags.
const (
	// FlagClearActionRight makes a permit a hard permit
	// (FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT): the filter clears the
	// FWPS_RIGHT_ACTION_WRITE right when it decides, so no filter of a
	// lower-priority sublayer (another firewall's, Windows Firewall's)
	// can turn it into a block; only a callout's veto still can. Without
	// it a permit is soft and any lower sublayer's block overrides it.
	FlagClearActionRight RuleFlags = 1 << iota
)

func (f RuleFlags) String() string {
	if f == 0 {
		return ""
	}
	if f == FlagClearActionRight {
		return "clear-action-right"
	}
	return fmt.Sprintf("flags(%#x)", uint32(f))
}

// Rule is one WFP filter. Within the tunnel's sublayer the matching rule
// of highest Weight decides.
type Rule struct {
	Name       string
	Layer      Layer
	Action     Action
	Weight     uint8
	Flags      RuleFlags
	Conditions []Condition
}

func (r Rule) String() string {
	cs := make([]string, len(r.Conditions))
	for i, c := range r.Conditions {
		cs[i] = c.String()
	}
	flags := ""
	if r.Flags != 0 {
		flags = " " + r.Flags.String()
	}
	return fmt.Sprintf("%-14v w%-2d %-6v%s %s [%s]", r.Layer, r.Weight, r.Action, flags, r.Name, strings.Join(cs, " "))
}

// Rule weights, as WireGuard for Windows weighs the same rules: the
// matching rule of highest weight decides.
const (
	WeightOwnApp    = 15 // the tunnel's own process, wherever the endpoint roams
	WeightEndpoint  = 15 // the tunnel's own process to the endpoints resolved at start
	WeightPermitDNS = 15 // DNS to the tunnel's DNS servers, on any interface
	WeightBlockDNS  = 14 // DNS to anyone else, even through the tunnel or on loopback
	WeightLoopback  = 13
	WeightTunnel    = 12 // everything through the tunnel adapter
	WeightDHCPNDP   = 12 // keep the physical link configured
	WeightBlockRest = 0  // the catch-all block, both families
)

// KillSwitchParams select the kill switch's rules.
type KillSwitchParams struct {
	// Owner is the SID (string form) of the process that carries the
	// tunnel: the tunnel service's SID (ServiceSID), or the user's SID for
	// a tunnel run outside a service. Only traffic of warren.exe running
	// with it in its token passes the switch; an empty Owner permits
	// nobody's (and Apply refuses the rules).
	Owner string
	// DNS servers of the tunnel: DNS (port 53, UDP and TCP) to any other
	// server is blocked, on every interface; to these it is permitted,
	// on every interface.
	DNS []netip.Addr
	// Endpoints the owner's UDP may reach explicitly (see WeightEndpoint).
	Endpoints []netip.AddrPort
}

// The addresses the link-keeping rules name.
var (
	linkLocal             = netip.MustParsePrefix("fe80::/10")
	allDHCPRelaysServers  = netip.MustParsePrefix("ff02::1:2/128") // RFC 8415 §7.1
	allDHCPServers        = netip.MustParsePrefix("ff05::1:3/128")
	allRoutersLinkLocal   = netip.MustParsePrefix("ff02::2/128")
	allLayers             = []Layer{LayerConnectV4, LayerRecvAcceptV4, LayerConnectV6, LayerRecvAcceptV6}
	layersV4              = []Layer{LayerConnectV4, LayerRecvAcceptV4}
	layersV6              = []Layer{LayerConnectV6, LayerRecvAcceptV6}
	conditionUDPOrTCPTo53 = []Condition{{Field: FieldRemotePort, Value: 53}, {Field: FieldProtocol, Value: ProtoUDP}, {Field: FieldProtocol, Value: ProtoTCP}}
)

// KillSwitch returns the firewall rules that keep a default-route tunnel's
// traffic from leaking, for both address families whichever default route
// the tunnel holds (as WireGuard for Windows' blockAll does: a tunnel with
// only 0.0.0.0/0 must not let IPv6 leave beside it). Everything is dropped
// unless it goes through the tunnel adapter, is the tunnel's own process
// (warren.exe with the owner's SID: its encrypted UDP to the endpoints),
// stays on loopback, or keeps the physical link alive (DHCP, NDP); DNS
// reaches only the tunnel's DNS servers. golden_test.go compares the set
// with WireGuard for Windows' rules.
func KillSwitch(p KillSwitchParams) []Rule {
	var rs []Rule
	add := func(name string, layers []Layer, action Action, weight uint8, flags RuleFlags, conds ...Condition) {
		for _, l := range layers {
			rs = append(rs, Rule{Name: name, Layer: l, Action: action, Weight: weight, Flags: flags, Conditions: conds})
		}
	}
	owner := Condition{Field: FieldOwnerSID, SID: p.Owner}

	// The tunnel's own process: hard permits, so that no other firewall's
	// block in a lower sublayer can cut the tunnel off.
	add("permit warren's own traffic", allLayers, Permit, WeightOwnApp, FlagClearActionRight, Condition{Field: FieldOwnApp}, owner)
	for _, ep := range p.Endpoints {
		a := ep.Addr().Unmap()
		if !a.IsValid() {
			continue
		}
		layer := LayerConnectV4
		if a.Is6() {
			layer = LayerConnectV6
		}
		add("permit warren's traffic to endpoint "+netip.AddrPortFrom(a, ep.Port()).String(), []Layer{layer}, Permit, WeightEndpoint, FlagClearActionRight,
			owner,
			Condition{Field: FieldProtocol, Value: ProtoUDP},
			Condition{Field: FieldRemoteAddr, Prefix: netip.PrefixFrom(a, a.BitLen())},
			Condition{Field: FieldRemotePort, Value: ep.Port()})
	}

	// DNS only to the tunnel's servers.
	if len(p.DNS) > 0 {
		add("block DNS", allLayers, Block, WeightBlockDNS, 0, conditionUDPOrTCPTo53...)
		for _, fam := range []struct {
			is6    bool
			layers []Layer
		}{{false, layersV4}, {true, layersV6}} {
			conds := slices.Clone(conditionUDPOrTCPTo53)
			for _, d := range p.DNS {
				d = d.Unmap()
				if d.IsValid() && d.Is6() == fam.is6 {
					conds = append(conds, Condition{Field: FieldRemoteAddr, Prefix: netip.PrefixFrom(d, d.BitLen())})
				}
			}
			if len(conds) > len(conditionUDPOrTCPTo53) {
				add("permit DNS to the tunnel's servers", fam.layers, Permit, WeightPermitDNS, 0, conds...)
			}
		}
	}

	add("permit loopback", allLayers, Permit, WeightLoopback, 0, Condition{Field: FieldLoopback})
	add("permit tunnel interface", allLayers, Permit, WeightTunnel, 0, Condition{Field: FieldTunnelInterface})

	// DHCPv4: client port 68 to server port 67, out to the broadcast
	// address only, and the server's answer in. As in WireGuard for
	// Windows, unicast is not permitted: any process able to bind port 68
	// could otherwise send to any host on port 67 around the kill switch.
	// A lease still renews: a client whose unicast renewal (RFC 2131
	// §4.4.5, RENEWING) gets no answer rebinds by broadcast at T2.
	dhcp4 := []Condition{{Field: FieldProtocol, Value: ProtoUDP}, {Field: FieldLocalPort, Value: 68}, {Field: FieldRemotePort, Value: 67}}
	add("permit DHCPv4 requests", []Layer{LayerConnectV4}, Permit, WeightDHCPNDP, 0,
		append(slices.Clone(dhcp4), Condition{Field: FieldRemoteAddr, Prefix: netip.MustParsePrefix("255.255.255.255/32")})...)
	add("permit DHCPv4 replies", []Layer{LayerRecvAcceptV4}, Permit, WeightDHCPNDP, 0, dhcp4...)
	// DHCPv6: from a link-local address, client port 546 to server/relay
	// port 547 on the DHCP multicast groups, and back from link-local.
	add("permit DHCPv6 requests", []Layer{LayerConnectV6}, Permit, WeightDHCPNDP, 0,
		Condition{Field: FieldProtocol, Value: ProtoUDP},
		Condition{Field: FieldRemoteAddr, Prefix: allDHCPRelaysServers},
		Condition{Field: FieldRemoteAddr, Prefix: allDHCPServers},
		Condition{Field: FieldRemotePort, Value: 547},
		Condition{Field: FieldLocalAddr, Prefix: linkLocal},
		Condition{Field: FieldLocalPort, Value: 546})
	add("permit DHCPv6 replies", []Layer{LayerRecvAcceptV6}, Permit, WeightDHCPNDP, 0,
		Condition{Field: FieldProtocol, Value: ProtoUDP},
		Condition{Field: FieldRemoteAddr, Prefix: linkLocal},
		Condition{Field: FieldRemotePort, Value: 547},
		Condition{Field: FieldLocalAddr, Prefix: linkLocal},
		Condition{Field: FieldLocalPort, Value: 546})
	// NDP (RFC 4861 §4), code 0: router solicitation 133 out to the
	// routers; router advertisement 134 in from link-local; neighbour
	// solicitation 135 and advertisement 136 both ways; redirect 137 in
	// from link-local.
	ndp := func(name string, layers []Layer, typ uint16, remote netip.Prefix) {
		cs := []Condition{{Field: FieldProtocol, Value: ProtoICMPv6}, {Field: FieldICMPType, Value: typ}, {Field: FieldICMPCode, Value: 0}}
		if remote.IsValid() {
			cs = append(cs, Condition{Field: FieldRemoteAddr, Prefix: remote})
		}
		add(name, layers, Permit, WeightDHCPNDP, 0, cs...)
	}
	ndp("permit NDP router solicitation", []Layer{LayerConnectV6}, 133, allRoutersLinkLocal)
	ndp("permit NDP router advertisement", []Layer{LayerRecvAcceptV6}, 134, linkLocal)
	ndp("permit NDP neighbour solicitation", layersV6, 135, netip.Prefix{})
	ndp("permit NDP neighbour advertisement", layersV6, 136, netip.Prefix{})
	ndp("permit NDP redirect", []Layer{LayerRecvAcceptV6}, 137, linkLocal)

	add("block untunneled traffic", allLayers, Block, WeightBlockRest, 0)
	return rs
}

// Verdict evaluates rules for one connection the way WFP evaluates one
// sublayer: the matching rule of highest weight decides; with none, the
// traffic is not this sublayer's business (permitted). It exists so tests
// and diagnostics can ask "would this leak?" of a rule set.
func Verdict(rules []Rule, pkt Packet) Action {
	return Arbitrate(pkt, rules)
}

// Arbitrate evaluates a layer's sublayers, highest priority first, as WFP's
// filter arbitration does for static filters: each sublayer's matching
// rule of highest weight decides for that sublayer; a block is final; a
// permit is final when it carries FlagClearActionRight (a hard permit)
// and otherwise is overridden by a block of a lower sublayer. No match
// anywhere permits. (Callouts, which could still veto a hard permit, are
// not modelled.)
func Arbitrate(pkt Packet, sublayers ...[]Rule) Action {
	action, writable := Permit, true
	for _, rules := range sublayers {
		var best *Rule
		for i := range rules {
			r := &rules[i]
			if r.Layer == pkt.Layer && (best == nil || r.Weight > best.Weight) && r.matches(pkt) {
				best = r
			}
		}
		if best == nil || !writable {
			continue
		}
		action = best.Action
		writable = best.Action == Permit && best.Flags&FlagClearActionRight == 0
	}
	return action
}

// Packet describes a connection for Verdict.
type Packet struct {
	Layer           Layer
	TunnelInterface bool // on the tunnel's adapter
	OwnApp          bool // sent or received by warren.exe
	// SIDs are the process token's user and enabled group SIDs (string
	// form); a service's token holds its service SID (ServiceSID).
	SIDs       []string
	Loopback   bool
	Protocol   uint8
	RemoteAddr netip.Addr
	RemotePort uint16 // the ICMP code for ICMP
	LocalAddr  netip.Addr
	LocalPort  uint16 // the ICMP type for ICMP
}

// wfpField is the WFP condition field f is carried in: conditions on the
// same WFP field are alternatives, whatever they are called here.
func wfpField(f Field) Field {
	switch f {
	case FieldICMPType:
		return FieldLocalPort
	case FieldICMPCode:
		return FieldRemotePort
	}
	return f
}

func (r Rule) matches(p Packet) bool {
	fields := map[Field]bool{} // WFP field → some condition on it matched
	for _, c := range r.Conditions {
		ok := false
		switch c.Field {
		case FieldTunnelInterface:
			ok = p.TunnelInterface
		case FieldOwnApp:
			ok = p.OwnApp
		case FieldOwnerSID:
			ok = c.SID != "" && slices.Contains(p.SIDs, c.SID)
		case FieldLoopback:
			ok = p.Loopback
		case FieldProtocol:
			ok = uint16(p.Protocol) == c.Value
		case FieldRemoteAddr:
			ok = c.Prefix.Contains(p.RemoteAddr)
		case FieldLocalAddr:
			ok = c.Prefix.Contains(p.LocalAddr)
		case FieldRemotePort, FieldICMPCode:
			ok = p.RemotePort == c.Value
		case FieldLocalPort, FieldICMPType:
			ok = p.LocalPort == c.Value
		}
		fields[wfpField(c.Field)] = fields[wfpField(c.Field)] || ok
	}
	for _, ok := range fields {
		if !ok {
			return false
		}
	}
	return true
}
