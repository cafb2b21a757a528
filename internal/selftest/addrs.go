package selftest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/netip"
)

// ErrNoFreeAddress is wrapped when every candidate range of a family
// overlaps a route or address of the host.
var ErrNoFreeAddress = errors.New("no free throwaway address range")

// addrRange is a reserved range the throwaway subnets are drawn from.
type addrRange struct {
	prefix netip.Prefix
	why    string
}

// ranges4 are tried in order: the benchmarking range first (Clash-style
// fake-IP DNS uses part of it, so the second is a real fallback), then the
// shared address space (which Tailscale and carrier NAT use).
var ranges4 = []addrRange{
	{netip.MustParsePrefix("198.18.0.0/15"), "RFC 2544 benchmarking range"},
	{netip.MustParsePrefix("100.64.0.0/10"), "RFC 6598 shared address space"},
}

// range6 is where a random /48 (RFC 4193's 40-bit global ID) is drawn.
var range6 = addrRange{netip.MustParsePrefix("fd00::/8"), "RFC 4193 unique local range"}

// Subnet sizes: the adapter takes the first host address, the peer the
// second.
const (
	bits4 = 30
	bits6 = 126
	// minUsedBits: shorter routes than this (default routes, their /1
	// halves, a VPN's catch-alls) are less specific than the throwaway
	// subnet's route, so they cannot capture it and do not count.
	minUsedBits = 8
	// tries is how many random subnets are drawn from a range before the
	// next range is tried.
	tries = 256
)

// family is one address family's throwaway subnet, or why there is none.
type family struct {
	Subnet netip.Prefix // the /30 or /126
	Local  netip.Prefix // the adapter's address, with the subnet's length
	Peer   netip.Addr   // the peer's address
	From   string       // the reserved range, described
	Err    error        // why the family has no subnet (Subnet invalid)
}

// OK reports whether the family has a subnet.
func (f family) OK() bool { return f.Subnet.IsValid() }

// pickAddresses chooses a throwaway IPv4 /30 and IPv6 /126 that overlap
// none of used (the host's routes and addresses, in any table), drawing
// them at random from the reserved ranges with rnd (nil: crypto/rand).
// A family with no free subnet has Err set, wrapping ErrNoFreeAddress.
func pickAddresses(used []netip.Prefix, rnd io.Reader) (v4, v6 family) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var relevant []netip.Prefix
	for _, p := range used {
		if p.IsValid() && p.Bits() >= minUsedBits {
			relevant = append(relevant, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapShift(p)).Masked())
		}
	}
	free := func(s netip.Prefix) bool {
		for _, p := range relevant {
			if p.Overlaps(s) {
				return false
			}
		}
		return true
	}
	v4.Err = fmt.Errorf("%w for IPv4: every /%d tried in %v and %v overlaps a route or address here", ErrNoFreeAddress, bits4, ranges4[0].prefix, ranges4[1].prefix)
	for _, r := range ranges4 {
		if s, ok := draw(r.prefix, bits4, rnd, free); ok {
			v4 = newFamily(s, r.why)
			break
		}
	}
	v6.Err = fmt.Errorf("%w for IPv6: every /%d tried in %v overlaps a route or address here", ErrNoFreeAddress, bits6, range6.prefix)
	if s, ok := draw(range6.prefix, bits6, rnd, free); ok {
		v6 = newFamily(s, range6.why)
	}
	return v4, v6
}

// draw returns a random subnet of length bits inside r that free accepts.
func draw(r netip.Prefix, bits int, rnd io.Reader, free func(netip.Prefix) bool) (netip.Prefix, bool) {
	base := r.Masked().Addr().AsSlice()
	for range tries {
		b := make([]byte, len(base))
		if _, err := io.ReadFull(rnd, b); err != nil {
			return netip.Prefix{}, false
		}
		for i := range b {
			// Keep the range's bits, randomise the rest.
			keep := byte(0)
			switch {
			case (i+1)*8 <= r.Bits():
				keep = 0xff
			case i*8 < r.Bits():
				keep = 0xff << (8 - (r.Bits() - i*8))
			}
			b[i] = base[i]&keep | b[i]&^keep
		}
		a, _ := netip.AddrFromSlice(b)
		s := netip.PrefixFrom(a, bits).Masked()
		if free(s) {
			return s, true
		}
	}
	return netip.Prefix{}, false
}

func newFamily(s netip.Prefix, why string) family {
	first := s.Addr().Next()
	return family{Subnet: s, Local: netip.PrefixFrom(first, s.Bits()), Peer: first.Next(), From: why}
}

// unmapShift is how many bits an IPv4-mapped IPv6 prefix loses when
// unmapped (96), or 0.
func unmapShift(p netip.Prefix) int {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return 96
	}
	return 0
}
