package manager

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// ErrSubnetFull: a tunnel's subnet has no free address left for a new
// client (the error names the subnet).
var ErrSubnetFull = errors.New("no free address left in the subnet")

// ErrNoSubnet: the tunnel has no Address line, so there is no subnet to
// give a client an address from.
var ErrNoSubnet = errors.New("the tunnel has no Address to give clients addresses from")

// allocate picks one address for a new client in each distinct subnet of
// the server's Address lines (in their order): the lowest one that is
// not the network address, not IPv4's broadcast address, not one of the
// server's own addresses, and not inside any prefix in held (every
// peer's AllowedIPs, and the addresses kept for disabled clients). The
// result is one host prefix (/32, /128) per subnet.
//
// In IPv4 subnets of /31 and /32 every address is a host (RFC 3021). In
// IPv6 the all-zero interface identifier is the Subnet-Router anycast
// address (RFC 4291 2.6.1) and is skipped like IPv4's network address;
// IPv6 has no broadcast address.
func allocate(server []netip.Prefix, held []netip.Prefix) ([]netip.Prefix, error) {
	var subnets []netip.Prefix
	for _, a := range server {
		s := a.Masked()
		if !slices.Contains(subnets, s) {
			subnets = append(subnets, s)
		}
	}
	if len(subnets) == 0 {
		return nil, ErrNoSubnet
	}
	var own []netip.Addr
	for _, a := range server {
		own = append(own, a.Addr().Unmap())
	}
	out := make([]netip.Prefix, 0, len(subnets))
	for _, s := range subnets {
		a, ok := freeAddr(s, own, held)
		if !ok {
			return nil, fmt.Errorf("subnet %s: %w", s, ErrSubnetFull)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// span is an inclusive range of addresses of one family.
type span struct{ lo, hi netip.Addr }

// freeAddr returns the lowest usable address of subnet s outside own and
// held.
func freeAddr(s netip.Prefix, own []netip.Addr, held []netip.Prefix) (netip.Addr, bool) {
	first, last := s.Addr(), lastAddr(s)
	lo, hi := first, last
	switch {
	case first.Is4() && s.Bits() <= 30:
		lo, hi = first.Next(), last.Prev()
	case first.Is6() && s.Bits() <= 127:
		lo = first.Next()
	}
	var taken []span
	for _, a := range own {
		if s.Contains(a) {
			taken = append(taken, span{a, a})
		}
	}
	for _, p := range held {
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		p = p.Masked()
		if !p.IsValid() || !p.Overlaps(s) {
			continue
		}
		taken = append(taken, span{p.Addr(), lastAddr(p)})
	}
	slices.SortFunc(taken, func(a, b span) int { return a.lo.Compare(b.lo) })
	cand := lo
	for _, t := range taken {
		if t.hi.Less(cand) {
			continue
		}
		if cand.Less(t.lo) {
			break
		}
		cand = t.hi.Next()
		if !cand.IsValid() { // the top of the address space
			return netip.Addr{}, false
		}
	}
	if hi.Less(cand) {
		return netip.Addr{}, false
	}
	return cand, true
}

// lastAddr is the highest address of p (p masked).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
