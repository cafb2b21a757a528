package winnet

import (
	"fmt"
	"net/netip"
	"slices"
)

// Pinning says, per address family, whether the tunnel's own routes could
// capture the UDP datagrams that carry the tunnel. For a pinned family the
// bind must send through the physical default interface whatever the
// routing table says (and drop its sends while there is none), or its
// encrypted packets would be routed back into the tunnel.
type Pinning struct {
	V4, V6 bool
	// Why4 and Why6 say why the family is pinned, for the log; empty when
	// it is not.
	Why4, Why6 string
}

// PinFamilies decides the Pinning of a tunnel from the prefixes it routes
// through its adapter (the peers' AllowedIPs; none when the configuration
// says Table = off) and its peers' endpoints as resolved now. A family is
// pinned when
//   - the routed prefixes together cover its whole address space: a /0,
//     the 0.0.0.0/1 + 128.0.0.0/1 (::/1 + 8000::/1) idiom, or any other set
//     without a gap. Then every endpoint, also one a peer roams to later,
//     routes into the tunnel.
//   - a routed prefix covers one of the endpoints.
//
// Prefixes need not be masked; IPv4-mapped IPv6 prefixes and endpoints
// count as IPv4, as the routing table sees them. Invalid values are
// ignored.
func PinFamilies(routed []netip.Prefix, endpoints []netip.AddrPort) Pinning {
	var v4, v6 []netip.Prefix
	for _, p := range routed {
		if !p.IsValid() {
			continue
		}
		p = unmapPrefix(p)
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	var pin Pinning
	pin.V4, pin.Why4 = pinFamily(v4, endpoints, false)
	pin.V6, pin.Why6 = pinFamily(v6, endpoints, true)
	return pin
}

// pinFamily decides one family from its masked prefixes.
func pinFamily(prefixes []netip.Prefix, endpoints []netip.AddrPort, ipv6 bool) (bool, string) {
	if len(prefixes) == 0 {
		return false, ""
	}
	for _, p := range prefixes {
		if p.Bits() == 0 {
			return true, fmt.Sprintf("the tunnel routes %v", p)
		}
	}
	if coversFamily(prefixes, ipv6) {
		lo, hi := SplitDefault(ipv6)
		return true, fmt.Sprintf("the tunnel's routes cover all of %s (as %v + %v do)", familyName(ipv6), lo, hi)
	}
	for _, ep := range endpoints {
		if !ep.IsValid() {
			continue
		}
		a := ep.Addr().Unmap().WithZone("")
		if a.Is6() != ipv6 {
			continue
		}
		for _, p := range prefixes {
			if p.Contains(a) {
				return true, fmt.Sprintf("the tunnel routes %v, which holds endpoint %v", p, ep)
			}
		}
	}
	return false, ""
}

func familyName(ipv6 bool) string {
	if ipv6 {
		return "IPv6"
	}
	return "IPv4"
}

// unmapPrefix masks p and turns an IPv4-mapped IPv6 prefix of at least 96
// bits into the IPv4 prefix it maps.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// coversFamily reports whether the union of prefixes (masked, all of one
// family) is that family's whole address space: sorted by first address,
// the ranges must leave no gap from the lowest address to the highest.
func coversFamily(prefixes []netip.Prefix, ipv6 bool) bool {
	type span struct{ first, last netip.Addr }
	spans := make([]span, 0, len(prefixes))
	for _, p := range prefixes {
		spans = append(spans, span{p.Addr(), lastAddr(p)})
	}
	slices.SortFunc(spans, func(a, b span) int { return a.first.Compare(b.first) })
	next := netip.IPv4Unspecified()
	if ipv6 {
		next = netip.IPv6Unspecified()
	}
	top := lastAddr(netip.PrefixFrom(next, 0))
	for _, s := range spans {
		if s.first.Compare(next) > 0 {
			return false // a gap before s
		}
		if s.last == top {
			return true
		}
		if s.last.Compare(next) >= 0 {
			next = s.last.Next()
		}
	}
	return false
}

// lastAddr is the highest address in the masked prefix p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	for i := range b {
		switch {
		case bits >= 8:
			bits -= 8
		case bits > 0:
			b[i] |= 0xff >> bits
			bits = 0
		default:
			b[i] = 0xff
		}
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		return a.Unmap()
	}
	return a
}
