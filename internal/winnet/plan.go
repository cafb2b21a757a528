// Package winnet owns a Windows tunnel's effect on the host's network: the
// plan (addresses, routes, DNS, MTU, kill-switch firewall rules, warnings
// between tunnels) computed by pure functions from a parsed wg-quick
// configuration, and, on Windows only, applying that plan through the IP
// Helper API and the Windows Filtering Platform and undoing it on stop.
//
// The plan is data so that every decision is tested on every platform; the
// Windows files only translate it into system calls. It imports
// internal/conf and the standard library, and on Windows x/sys/windows.
package winnet

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/warren-vpn/warren/internal/conf"
)

// DefaultMTU is the tunnel MTU when the configuration sets none: 1500 less
// the largest WireGuard overhead (IPv6 40 + UDP 8 + WireGuard 32).
const DefaultMTU = 1420

// MinMTUIPv6 is IPv6's minimum link MTU (RFC 8200 §5); an adapter below it
// cannot carry IPv6 at all.
const MinMTUIPv6 = 1280

// MinMTUIPv4 is the smallest MTU the plan accepts for an IPv4-only tunnel
// (RFC 791's 576-octet datagram).
const MinMTUIPv4 = 576

// RouteMetric is the metric of the tunnel's routes on top of the adapter's
// interface metric; the split default route wins by prefix length, so the
// metric only orders the tunnel against other tunnels' equal prefixes.
const RouteMetric = 0

// ErrPlan is wrapped by every error NewPlan returns.
var ErrPlan = errors.New("network plan")

// Route is one route through the tunnel adapter (the next hop is on-link).
type Route struct {
	Prefix netip.Prefix
	Metric uint32
}

// Plan is everything bringing a tunnel up does to the host's network, and
// so everything stopping it undoes.
type Plan struct {
	// Name is the tunnel (and adapter) name.
	Name string
	// Addresses are the adapter's unicast addresses with their prefix
	// lengths, as the configuration's Address lines give them.
	Addresses []netip.Prefix
	// Routes through the adapter: every peer's AllowedIPs, masked,
	// deduplicated, in a stable order, with /0 split into two /1 halves.
	Routes []Route
	// DNS servers and search domains set on the adapter.
	DNS       []netip.Addr
	DNSSearch []string
	// MTU of the adapter (both families).
	MTU int
	// TableOff says the configuration has Table = off: the tunnel adds no
	// routes, claims no default route and has no kill switch; routing
	// into the adapter is the administrator's business.
	TableOff bool
	// DefaultRoute4 and DefaultRoute6 say whether some peer's AllowedIPs
	// hold 0.0.0.0/0 or ::/0 (and Table is not off): the tunnel takes that
	// family's default route, its UDP socket must be bound to the physical
	// default interface so its own packets cannot loop, and the kill
	// switch engages (for both families).
	DefaultRoute4, DefaultRoute6 bool
	// AllowedIPs are all peers' AllowedIPs, masked and deduplicated, for
	// the overlap check between tunnels.
	AllowedIPs []netip.Prefix
	// Owner is the SID whose warren.exe the kill switch lets through
	// (Options.ServiceName or Options.OwnerSID); empty if none was given.
	Owner string
	// Firewall is the kill switch, empty unless the tunnel takes a default
	// route.
	Firewall []Rule
}

// Options adjust a plan.
type Options struct {
	// Endpoints are the peers' endpoints as resolved now; the kill switch
	// permits UDP to each explicitly (the tunnel's own process is permitted
	// anyway, so an endpoint that roams later still works). Optional.
	Endpoints []netip.AddrPort
	// ServiceName is the Windows service that runs the tunnel
	// (winsvc.ServiceName(tunnel)); the kill switch lets through only
	// warren.exe running with that service's SID (ServiceSID) in its
	// token, so another process started from the same file (`warren
	// proxy` run by a user) cannot pass it.
	ServiceName string
	// OwnerSID is, for a tunnel not run by a service, the SID (string
	// form, S-1-...) to let through instead, such as the user's. At most
	// one of ServiceName and OwnerSID may be set. With neither, the plan's
	// kill switch lets nobody through and Apply refuses it (ErrNoOwner).
	OwnerSID string
}

// ErrNoOwner is wrapped when a kill switch is applied without an owner
// (Options.ServiceName or Options.OwnerSID), or with one the process
// applying it does not hold: its rules would block the tunnel itself.
var ErrNoOwner = errors.New("kill switch has no owner the tunnel runs as")

// owner is the SID the kill switch lets through.
func (o Options) owner() (string, error) {
	switch {
	case o.ServiceName != "" && o.OwnerSID != "":
		return "", fmt.Errorf("both a service name (%s) and an owner SID (%s) given; want one", o.ServiceName, o.OwnerSID)
	case o.ServiceName != "":
		return ServiceSID(o.ServiceName), nil
	case o.OwnerSID != "":
		if err := checkSID(o.OwnerSID); err != nil {
			return "", fmt.Errorf("owner: %w", err)
		}
		return o.OwnerSID, nil
	}
	return "", nil
}

// NewPlan computes the tunnel's network plan from f, which must be parsed
// with conf.Options{Quick: true}. It fails on values Windows cannot apply
// (an MTU too small for the families in use) and on a malformed owner in
// opts. PreUp/PostUp/PreDown/PostDown hooks are the service's decision
// (see HasHooks).
func NewPlan(name string, f *conf.File, opts Options) (*Plan, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty tunnel name", ErrPlan)
	}
	if f == nil {
		return nil, fmt.Errorf("%w for %s: no configuration", ErrPlan, name)
	}
	p := &Plan{
		Name:      name,
		DNS:       slices.Clone(f.Interface.DNS),
		DNSSearch: slices.Clone(f.Interface.DNSSearch),
		MTU:       f.Interface.MTU,
	}
	if p.MTU == 0 {
		p.MTU = DefaultMTU
	}
	owner, err := opts.owner()
	if err != nil {
		return nil, fmt.Errorf("%w for %s: %w", ErrPlan, name, err)
	}
	p.Owner = owner
	p.TableOff = f.Interface.Table == "off"

	seenAddr := map[netip.Prefix]bool{}
	for _, a := range f.Interface.Addresses {
		if !a.IsValid() {
			return nil, fmt.Errorf("%w for %s: invalid address %v", ErrPlan, name, a)
		}
		a = netip.PrefixFrom(a.Addr().Unmap(), a.Bits()-unmapShift(a))
		if seenAddr[a] {
			continue
		}
		seenAddr[a] = true
		p.Addresses = append(p.Addresses, a)
	}

	seen := map[netip.Prefix]bool{}
	for _, peer := range f.Peers {
		for _, ip := range peer.AllowedIPs {
			ip = netip.PrefixFrom(ip.Addr().Unmap(), ip.Bits()-unmapShift(ip)).Masked()
			if !ip.IsValid() || seen[ip] {
				continue
			}
			seen[ip] = true
			p.AllowedIPs = append(p.AllowedIPs, ip)
		}
	}
	slices.SortFunc(p.AllowedIPs, comparePrefix)
	if !p.TableOff {
		for _, ip := range p.AllowedIPs {
			if ip.Bits() == 0 {
				if ip.Addr().Is4() {
					p.DefaultRoute4 = true
				} else {
					p.DefaultRoute6 = true
				}
			}
		}
		p.Routes = routesFor(p.AllowedIPs)
	}

	// The adapter carries IPv6 if it has an IPv6 address or a peer may
	// send IPv6 (routed by the plan, or by the administrator when Table
	// is off).
	uses6 := false
	for _, a := range p.Addresses {
		uses6 = uses6 || a.Addr().Is6()
	}
	for _, ip := range p.AllowedIPs {
		uses6 = uses6 || ip.Addr().Is6()
	}
	switch {
	case uses6 && p.MTU < MinMTUIPv6:
		return nil, fmt.Errorf("%w for %s: MTU %d is below IPv6's minimum %d, and the tunnel carries IPv6", ErrPlan, name, p.MTU, MinMTUIPv6)
	case p.MTU < MinMTUIPv4:
		return nil, fmt.Errorf("%w for %s: MTU %d is below %d", ErrPlan, name, p.MTU, MinMTUIPv4)
	case p.MTU > 65535:
		return nil, fmt.Errorf("%w for %s: MTU %d is above 65535", ErrPlan, name, p.MTU)
	}

	// The kill switch engages for any /0 (not for the 0.0.0.0/1 +
	// 128.0.0.0/1 idiom, which is how a user asks for a full tunnel
	// without it, as with WireGuard for Windows), and blocks both families.
	if p.DefaultRoute4 || p.DefaultRoute6 {
		p.Firewall = KillSwitch(KillSwitchParams{
			Owner:     owner,
			DNS:       p.DNS,
			Endpoints: opts.Endpoints,
		})
	}
	return p, nil
}

// HasHooks reports whether f carries PreUp/PostUp/PreDown/PostDown
// commands, which the tunnel service runs (as SYSTEM) only when the
// administrator opted in.
func HasHooks(f *conf.File) bool {
	i := &f.Interface
	return len(i.PreUp)+len(i.PostUp)+len(i.PreDown)+len(i.PostDown) > 0
}

// unmapShift is how many bits an IPv4-mapped IPv6 prefix loses when it is
// unmapped to IPv4 (96), or 0.
func unmapShift(p netip.Prefix) int {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return 96
	}
	return 0
}

// routesFor turns AllowedIPs into routes, splitting each /0 into two /1
// halves. The halves are more specific than any default route, so they win
// whatever the interface metrics, and the system's own default route stays
// in place: the bind keeps finding the physical default interface by it,
// and nothing has to be restored on stop.
func routesFor(allowed []netip.Prefix) []Route {
	var rs []Route
	seen := map[netip.Prefix]bool{}
	add := func(p netip.Prefix) {
		if !seen[p] {
			seen[p] = true
			rs = append(rs, Route{Prefix: p, Metric: RouteMetric})
		}
	}
	for _, p := range allowed {
		if p.Bits() == 0 {
			lo, hi := SplitDefault(p.Addr().Is6())
			add(lo)
			add(hi)
			continue
		}
		add(p)
	}
	slices.SortFunc(rs, func(a, b Route) int { return comparePrefix(a.Prefix, b.Prefix) })
	return rs
}

// SplitDefault returns the two /1 halves of the IPv4 (or IPv6) address
// space: 0.0.0.0/1 and 128.0.0.0/1, or ::/1 and 8000::/1.
func SplitDefault(ipv6 bool) (lo, hi netip.Prefix) {
	if ipv6 {
		var b [16]byte
		lo = netip.PrefixFrom(netip.AddrFrom16(b), 1)
		b[0] = 0x80
		return lo, netip.PrefixFrom(netip.AddrFrom16(b), 1)
	}
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{}), 1), netip.PrefixFrom(netip.AddrFrom4([4]byte{128}), 1)
}

// comparePrefix orders IPv4 before IPv6, then by address, then shorter
// prefixes first.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// String renders the plan for logs and the service's status (no keys: a
// plan holds none).
func (p *Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tunnel %s: mtu %d", p.Name, p.MTU)
	if p.TableOff {
		b.WriteString(", table off (no routes, no kill switch)")
	}
	for _, a := range p.Addresses {
		fmt.Fprintf(&b, "\n  address %v", a)
	}
	for _, r := range p.Routes {
		fmt.Fprintf(&b, "\n  route %v metric %d", r.Prefix, r.Metric)
	}
	for _, d := range p.DNS {
		fmt.Fprintf(&b, "\n  dns %v", d)
	}
	for _, d := range p.DNSSearch {
		fmt.Fprintf(&b, "\n  dns search %s", d)
	}
	if len(p.Firewall) > 0 {
		fmt.Fprintf(&b, "\n  kill switch: %d firewall rules, both families", len(p.Firewall))
		if p.Owner != "" {
			fmt.Fprintf(&b, ", letting through warren.exe as %s", p.Owner)
		}
	}
	return b.String()
}
