package winnet

import (
	"fmt"
	"net/netip"
)

// Warning is a remark about several tunnels running at once. Warnings do
// not stop a tunnel: running several is allowed, but the user should know
// which one wins.
type Warning struct {
	// Tunnels are the names involved, in the order of the plans given.
	Tunnels []string
	// Kind says what the conflict is.
	Kind WarningKind
	// Prefixes are the overlapping prefixes, one from each tunnel
	// (OverlappingAllowedIPs only).
	Prefixes []netip.Prefix
}

// WarningKind classifies a Warning.
type WarningKind int

// Kinds of warnings.
const (
	// BothDefaultRouteIPv4 and BothDefaultRouteIPv6: two tunnels claim the
	// same default route; the one with the lower interface metric (or the
	// one brought up last) takes the traffic.
	BothDefaultRouteIPv4 WarningKind = iota + 1
	BothDefaultRouteIPv6
	// OverlappingAllowedIPs: a prefix of one tunnel contains or equals one
	// of the other's; the longer prefix wins, equal ones are ambiguous.
	OverlappingAllowedIPs
	// KillSwitchBlocksOther: the first tunnel's kill switch blocks traffic
	// through the second tunnel's adapter for the families it took over.
	KillSwitchBlocksOther
)

func (w Warning) String() string {
	switch w.Kind {
	case BothDefaultRouteIPv4, BothDefaultRouteIPv6:
		fam, zero := "IPv4", "0.0.0.0/0"
		if w.Kind == BothDefaultRouteIPv6 {
			fam, zero = "IPv6", "::/0"
		}
		return fmt.Sprintf("tunnels %s and %s both claim the %s default route (AllowedIPs %s); only one of them can carry that traffic",
			w.Tunnels[0], w.Tunnels[1], fam, zero)
	case OverlappingAllowedIPs:
		return fmt.Sprintf("tunnel %s's AllowedIPs %v overlaps tunnel %s's %v; the longer prefix wins, equal ones are ambiguous",
			w.Tunnels[0], w.Prefixes[0], w.Tunnels[1], w.Prefixes[1])
	case KillSwitchBlocksOther:
		return fmt.Sprintf("tunnel %s's kill switch blocks traffic through tunnel %s's adapter", w.Tunnels[0], w.Tunnels[1])
	}
	return fmt.Sprintf("warning(%d) about %v", int(w.Kind), w.Tunnels)
}

// Conflicts returns the warnings for running the given tunnels together:
// two claiming a default route, overlapping AllowedIPs (default routes
// aside, reported once as such; tunnels with Table = off route nothing and
// overlap nothing), and a kill switch that would block another tunnel. The result is deterministic for a given order of plans.
func Conflicts(plans []*Plan) []Warning {
	var ws []Warning
	for i, a := range plans {
		for _, b := range plans[i+1:] {
			names := []string{a.Name, b.Name}
			if a.DefaultRoute4 && b.DefaultRoute4 {
				ws = append(ws, Warning{Tunnels: names, Kind: BothDefaultRouteIPv4})
			}
			if a.DefaultRoute6 && b.DefaultRoute6 {
				ws = append(ws, Warning{Tunnels: names, Kind: BothDefaultRouteIPv6})
			}
			if a.TableOff || b.TableOff {
				continue // no routes: the administrator routes, not the plans
			}
			for _, pa := range a.AllowedIPs {
				for _, pb := range b.AllowedIPs {
					if pa.Bits() == 0 || pb.Bits() == 0 || !pa.Overlaps(pb) {
						continue // default routes are reported above
					}
					ws = append(ws, Warning{Tunnels: names, Kind: OverlappingAllowedIPs, Prefixes: []netip.Prefix{pa, pb}})
				}
			}
		}
	}
	for _, a := range plans {
		if len(a.Firewall) == 0 {
			continue
		}
		for _, b := range plans {
			if a == b || a.Name == b.Name {
				continue
			}
			if blocksOther(a, b) {
				ws = append(ws, Warning{Tunnels: []string{a.Name, b.Name}, Kind: KillSwitchBlocksOther})
			}
		}
	}
	return ws
}

// blocksOther reports whether a's kill switch drops traffic that b routes
// into its adapter (b's traffic is not on a's tunnel interface).
func blocksOther(a, b *Plan) bool {
	for _, r := range b.Routes {
		layer := LayerConnectV4
		if r.Prefix.Addr().Is6() {
			layer = LayerConnectV6
		}
		pkt := Packet{Layer: layer, Protocol: ProtoTCP, RemoteAddr: r.Prefix.Addr(), RemotePort: 443}
		if Verdict(a.Firewall, pkt) == Block {
			return true
		}
	}
	return false
}
