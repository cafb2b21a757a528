package winsvc

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/warren-vpn/warren/internal/conf"
)

// Conflicts warns about tunnel f sharing the machine with others: both
// claiming a default route (a /0) of the same family, or other AllowedIPs
// that overlap, where the traffic goes to whichever route wins.
// Several tunnels at once are allowed; these are warnings, sorted.
func Conflicts(name string, f *conf.File, others map[string]*conf.File) []string {
	var warnings []string
	mine := allowedIPs(f)
	for other, of := range others {
		theirs := allowedIPs(of)
		if hasDefault(mine, true) && hasDefault(theirs, true) || hasDefault(mine, false) && hasDefault(theirs, false) {
			warnings = append(warnings, fmt.Sprintf("tunnels %s and %s both claim the default route", name, other))
			continue
		}
		if p, q, ok := overlap(mine, theirs); ok {
			warnings = append(warnings, fmt.Sprintf("AllowedIPs of %s (%s) and %s (%s) overlap", name, p, other, q))
		}
	}
	slices.Sort(warnings)
	return warnings
}

func allowedIPs(f *conf.File) []netip.Prefix {
	var ps []netip.Prefix
	for _, p := range f.Peers {
		ps = append(ps, p.AllowedIPs...)
	}
	return ps
}

func hasDefault(ps []netip.Prefix, v4 bool) bool {
	for _, p := range ps {
		if p.Bits() == 0 && p.Addr().Is4() == v4 {
			return true
		}
	}
	return false
}

func overlap(a, b []netip.Prefix) (netip.Prefix, netip.Prefix, bool) {
	for _, p := range a {
		for _, q := range b {
			// A default route overlaps everything, and more specific
			// routes win over it: that is how split tunnels work.
			if p.Bits() != 0 && q.Bits() != 0 && p.Overlaps(q) {
				return p, q, true
			}
		}
	}
	return netip.Prefix{}, netip.Prefix{}, false
}
