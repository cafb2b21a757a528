package bind

import (
	"cmp"
	"net/netip"
)

// Family is an IP address family. The Windows Bind pins, and drops, per
// family: it has one socket for each.
type Family int

// The two families, usable as indices.
const (
	IPv4 Family = iota
	IPv6
)

func (f Family) String() string {
	if f == IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// familyOf is the family of the socket that sends to a: IPv4 for IPv4 and
// IPv4-mapped IPv6 addresses, IPv6 otherwise.
func familyOf(a netip.Addr) Family {
	if a.Unmap().Is4() {
		return IPv4
	}
	return IPv6
}

// RouteTable is one address family's routing state as DefaultInterface
// reads it: the routes and the IP interfaces they leave through. On
// Windows it comes from GetIPForwardTable2, GetIPInterfaceTable and
// GetIfTable2Ex; tests make their own.
type RouteTable struct {
	Routes     []Route
	Interfaces []Interface
}

// Route is one route of the table.
type Route struct {
	Prefix netip.Prefix
	// LUID is the interface the route leaves through.
	LUID uint64
	// Metric is the route's own metric; the interface's is added to it.
	Metric uint32
}

// Interface is one IP interface of the family (an adapter on which the
// family is enabled).
type Interface struct {
	LUID  uint64
	Index uint32
	// Up says the interface is operationally up.
	Up bool
	// Metric is the family's interface metric.
	Metric uint32
}

// DefaultChoice is the interface DefaultInterface picked.
type DefaultChoice struct {
	LUID  uint64
	Index uint32
	// Metric is the route's metric plus the interface's.
	Metric uint64
}

// DefaultInterface picks the interface that the family's packets to the
// Internet should leave by when the tunnel's own routes are taken away:
// among the default routes (prefix length 0) that do not go through the
// tunnel's adapter (exclude) and whose interface is known to the family
// and up, the one with the lowest route metric plus interface metric; ties
// go to the lowest interface index, then the lowest LUID, so the answer
// never depends on the table's order. ok is false when there is no such
// route: the host has no physical way out for the family.
func DefaultInterface(t RouteTable, exclude uint64) (c DefaultChoice, ok bool) {
	ifaces := make(map[uint64]Interface, len(t.Interfaces))
	for _, i := range t.Interfaces {
		ifaces[i.LUID] = i
	}
	for _, r := range t.Routes {
		if !r.Prefix.IsValid() || r.Prefix.Bits() != 0 || r.LUID == exclude {
			continue
		}
		i, known := ifaces[r.LUID]
		if !known || !i.Up {
			continue
		}
		cand := DefaultChoice{LUID: i.LUID, Index: i.Index, Metric: uint64(r.Metric) + uint64(i.Metric)}
		if !ok || better(cand, c) {
			c, ok = cand, true
		}
	}
	return c, ok
}

// better orders candidates: lower total metric, then lower index, then
// lower LUID.
func better(a, b DefaultChoice) bool {
	if c := cmp.Compare(a.Metric, b.Metric); c != 0 {
		return c < 0
	}
	if c := cmp.Compare(a.Index, b.Index); c != 0 {
		return c < 0
	}
	return a.LUID < b.LUID
}
