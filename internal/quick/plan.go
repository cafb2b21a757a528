package quick

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/warren-vpn/warren/internal/conf"
)

// Routing tables with fixed numbers (rtnetlink.h).
const (
	TableMain    = 254
	TableLocal   = 255
	TableDefault = 253
)

// DefaultPolicyTable is where wg-quick starts looking for a free table
// (and fwmark) for a full tunnel.
const DefaultPolicyTable = 51820

// tunnelOverhead is what wg-quick subtracts from the path MTU: an IPv6
// header (40), UDP (8) and WireGuard's data header and tag (32).
const tunnelOverhead = 80

// TableMode says where the AllowedIPs routes go.
type TableMode int

const (
	// TableAuto (Table unset or "auto"): routes in the main table, and a
	// default route (/0) through policy routing in a table of its own.
	TableAuto TableMode = iota
	// TableOff: no routes at all.
	TableOff
	// TableFixed: every route, default routes too, in Plan.TableID.
	TableFixed
)

// Plan is what up sets up for a configuration, derived from the file alone.
type Plan struct {
	Interface string
	// Addresses in the order written.
	Addresses []netip.Prefix
	// MTU is the configured MTU, 0 for automatic (see AutoMTU).
	MTU     int
	Table   TableMode
	TableID int // for TableFixed
	// Routes are every peer's AllowedIPs, masked and without duplicates,
	// most specific first: the order wg-quick adds them in.
	Routes []netip.Prefix
	// DNS servers and search domains.
	DNS       []netip.Addr
	DNSSearch []string
	// Hooks with %i replaced by the interface name.
	PreUp, PostUp, PreDown, PostDown []string
}

// NewPlan computes the plan for bringing up f as iface. lookupTable
// resolves a table name that is neither a number nor one of main, local
// and default (from /etc/iproute2/rt_tables on Linux); it may be nil.
func NewPlan(iface string, f *conf.File, lookupTable func(name string) (int, bool)) (*Plan, error) {
	in := &f.Interface
	p := &Plan{
		Interface: iface,
		Addresses: slices.Clone(in.Addresses),
		MTU:       in.MTU,
		DNS:       slices.Clone(in.DNS),
		DNSSearch: slices.Clone(in.DNSSearch),
		PreUp:     expandHooks(in.PreUp, iface),
		PostUp:    expandHooks(in.PostUp, iface),
		PreDown:   expandHooks(in.PreDown, iface),
		PostDown:  expandHooks(in.PostDown, iface),
	}
	switch t := in.Table; t {
	case "", "auto":
		p.Table = TableAuto
	case "off":
		p.Table = TableOff
	default:
		id, err := tableID(t, lookupTable)
		if err != nil {
			return nil, err
		}
		p.Table, p.TableID = TableFixed, id
	}
	p.Routes = Routes(f)
	return p, nil
}

// tableID resolves a Table value as ip(8) would.
func tableID(name string, lookup func(string) (int, bool)) (int, error) {
	switch name {
	case "main":
		return TableMain, nil
	case "local":
		return TableLocal, nil
	case "default":
		return TableDefault, nil
	}
	if n, err := strconv.ParseUint(name, 0, 32); err == nil && n > 0 {
		return int(n), nil
	}
	if lookup != nil {
		if n, ok := lookup(name); ok {
			return n, nil
		}
	}
	return 0, fmt.Errorf("table %q: %w", name, errUnknownTable)
}

var errUnknownTable = fmt.Errorf("%w: unknown routing table", conf.ErrInvalidValue)

// Routes lists the peers' AllowedIPs as the device holds them — masked,
// each once — most specific first, as wg-quick sorts `wg show allowed-ips`.
func Routes(f *conf.File) []netip.Prefix {
	var rs []netip.Prefix
	seen := map[netip.Prefix]bool{}
	for _, peer := range f.Peers {
		for _, a := range peer.AllowedIPs {
			m := a.Masked()
			if !seen[m] {
				seen[m] = true
				rs = append(rs, m)
			}
		}
	}
	// sort -nr -k 2 -t /: longest prefix first, ties in reverse byte order
	// of the whole text (the C locale's last-resort comparison, reversed).
	slices.SortStableFunc(rs, func(a, b netip.Prefix) int {
		if c := cmp.Compare(b.Bits(), a.Bits()); c != 0 {
			return c
		}
		return strings.Compare(b.String(), a.String())
	})
	return rs
}

// PolicyRoutes reports whether the plan needs wg-quick's policy routing:
// a default route (/0) with Table auto.
func (p *Plan) PolicyRoutes() bool {
	if p.Table != TableAuto {
		return false
	}
	return slices.ContainsFunc(p.Routes, func(r netip.Prefix) bool { return r.Bits() == 0 })
}

// expandHooks replaces %i by the interface name in each hook.
func expandHooks(hooks []string, iface string) []string {
	out := make([]string, len(hooks))
	for i, h := range hooks {
		out[i] = strings.ReplaceAll(h, "%i", iface)
	}
	return out
}

// AutoMTU is wg-quick's automatic MTU: the largest MTU of the routes to the
// peers' endpoints, else that of the default route, else 1500, less the
// tunnel's overhead. Zeros in the arguments mean unknown.
func AutoMTU(endpointMTUs []int, defaultRouteMTU int) int {
	mtu := 0
	for _, m := range endpointMTUs {
		mtu = max(mtu, m)
	}
	if mtu == 0 {
		mtu = defaultRouteMTU
	}
	if mtu <= 0 {
		mtu = 1500
	}
	return mtu - tunnelOverhead
}

// NftScript is the nft(8) input wg-quick uses for one address family of a
// full tunnel ("ip" or "ip6"): drop packets to the tunnel's addresses that
// arrive elsewhere from non-local sources, and carry the fwmark of the
// tunnel's UDP packets through conntrack so replies find their way
// (src_valid_mark).
func NftScript(iface, family string, mark int, addrs []netip.Addr) string {
	var b strings.Builder
	table := "wg-quick-" + iface
	fmt.Fprintf(&b, "add table %s %s\n", family, table)
	fmt.Fprintf(&b, "add chain %s %s preraw { type filter hook prerouting priority -300; }\n", family, table)
	fmt.Fprintf(&b, "add chain %s %s premangle { type filter hook prerouting priority -150; }\n", family, table)
	fmt.Fprintf(&b, "add chain %s %s postmangle { type filter hook postrouting priority -150; }\n", family, table)
	for _, a := range addrs {
		fmt.Fprintf(&b, "add rule %s %s preraw iifname != \"%s\" %s daddr %s fib saddr type != local drop\n", family, table, iface, family, a.WithZone(""))
	}
	fmt.Fprintf(&b, "add rule %s %s postmangle meta l4proto udp mark %d ct mark set mark \n", family, table, mark)
	fmt.Fprintf(&b, "add rule %s %s premangle meta l4proto udp meta mark set ct mark \n", family, table)
	return b.String()
}

// IptablesScript is the iptables-restore(8) input wg-quick uses instead of
// NftScript when nft is absent.
func IptablesScript(iface string, mark int, addrs []netip.Addr) string {
	var b strings.Builder
	marker := fmt.Sprintf(`-m comment --comment "wg-quick(8) rule for %s"`, iface)
	b.WriteString("*raw\n")
	for _, a := range addrs {
		fmt.Fprintf(&b, "-I PREROUTING ! -i %s -d %s -m addrtype ! --src-type LOCAL -j DROP %s\n", iface, a.WithZone(""), marker)
	}
	b.WriteString("COMMIT\n*mangle\n")
	fmt.Fprintf(&b, "-I POSTROUTING -m mark --mark %d -p udp -j CONNMARK --save-mark %s\n", mark, marker)
	fmt.Fprintf(&b, "-I PREROUTING -p udp -j CONNMARK --restore-mark %s\n", marker)
	b.WriteString("COMMIT\n")
	return b.String()
}

// ResolvConf is the resolv.conf text for the plan's DNS settings.
func (p *Plan) ResolvConf() string {
	var b strings.Builder
	for _, a := range p.DNS {
		fmt.Fprintf(&b, "nameserver %s\n", conf.FormatAddr(a))
	}
	if len(p.DNSSearch) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(p.DNSSearch, " "))
	}
	return b.String()
}
