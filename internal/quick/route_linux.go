package quick

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

// lookupTable resolves a routing table name from iproute2's rt_tables.
func lookupTable(name string) (int, bool) {
	paths := []string{"/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables", "/usr/lib/iproute2/rt_tables"}
	more, _ := filepath.Glob("/etc/iproute2/rt_tables.d/*.conf")
	for _, path := range append(paths, more...) {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		s := bufio.NewScanner(f)
		for s.Scan() {
			fields := strings.Fields(s.Text())
			if len(fields) >= 2 && fields[1] == name && !strings.HasPrefix(fields[0], "#") {
				if n, err := strconv.ParseUint(fields[0], 0, 32); err == nil {
					f.Close()
					return int(n), true
				}
			}
		}
		f.Close()
	}
	return 0, false
}

// family is 4 or 6.
func family(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

func nlFamily(f int) int {
	if f == 4 {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// linkMTU is the MTU of the link with the given index, 0 if unknown.
func linkMTU(index int) int {
	l, err := netlink.LinkByIndex(index)
	if err != nil {
		return 0
	}
	return l.Attrs().MTU
}

// routeMTU is the MTU of a route, else of its device, as wg-quick reads
// `ip route get`.
func routeMTU(r netlink.Route) int {
	if r.MTU > 0 {
		return r.MTU
	}
	return linkMTU(r.LinkIndex)
}

// setMTUUp sets the MTU — configured, or computed as wg-quick does — and
// brings the link up.
func (e *env) setMTUUp(link netlink.Link, p *Plan, cfg *wgtypes.Config) error {
	mtu := p.MTU
	if mtu == 0 {
		var mtus []int
		for _, peer := range cfg.Peers {
			if peer.Endpoint == nil {
				continue
			}
			if rs, err := netlink.RouteGet(peer.Endpoint.Addr().AsSlice()); err == nil && len(rs) > 0 {
				mtus = append(mtus, routeMTU(rs[0]))
			}
		}
		def := 0
		if rs, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: TableMain}, netlink.RT_FILTER_TABLE); err == nil {
			for _, r := range rs {
				if r.Dst == nil || isDefault(r.Dst) {
					def = routeMTU(r)
					break
				}
			}
		}
		mtu = AutoMTU(mtus, def)
	}
	e.logf("ip link set mtu %d up dev %s", mtu, p.Interface)
	if err := netlink.LinkSetMTU(link, mtu); err != nil {
		return fmt.Errorf("set MTU %d on %s: %w", mtu, p.Interface, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring %s up: %w", p.Interface, err)
	}
	return nil
}

func isDefault(n *net.IPNet) bool {
	ones, _ := n.Mask.Size()
	return ones == 0
}

// addRoute adds the route for one AllowedIPs prefix as wg-quick's add_route.
func (e *env) addRoute(link netlink.Link, p *Plan, rt netip.Prefix, st *state) error {
	fam := family(rt.Addr())
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(rt), Scope: netlink.SCOPE_LINK}
	switch {
	case p.Table == TableOff:
		return nil
	case p.Table == TableFixed:
		route.Table = p.TableID
		e.logf("ip -%d route add %s dev %s table %d", fam, rt, p.Interface, p.TableID)
	case rt.Bits() == 0:
		return e.addDefault(link, p, rt, st)
	default:
		// Skip a prefix an existing route through the link already covers
		// (the addresses' own subnets), as `ip route show dev match`.
		have, err := netlink.RouteListFiltered(nlFamily(fam), &netlink.Route{LinkIndex: link.Attrs().Index, Table: TableMain}, netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
		if err != nil {
			return fmt.Errorf("list routes of %s: %w", p.Interface, err)
		}
		for _, h := range have {
			if h.Dst == nil {
				return nil
			}
			ones, _ := h.Dst.Mask.Size()
			if ones <= rt.Bits() && h.Dst.Contains(rt.Addr().AsSlice()) {
				return nil
			}
		}
		e.logf("ip -%d route add %s dev %s", fam, rt, p.Interface)
	}
	if err := netlink.RouteAdd(route); err != nil {
		return fmt.Errorf("add route %s dev %s: %w", rt, p.Interface, err)
	}
	return nil
}

// tableInUse reports whether a routing table holds any route.
func tableInUse(table int) bool {
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := netlink.RouteListFiltered(fam, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
		if err == nil && len(rs) > 0 {
			return true
		}
	}
	return false
}

// policyRules are the two rules of a full tunnel for one family: packets
// without the tunnel's fwmark use its table, and the main table is
// consulted first for everything but its default route.
func policyRules(fam, table int) (notMarked, suppress *netlink.Rule) {
	notMarked = netlink.NewRule()
	notMarked.Family = nlFamily(fam)
	notMarked.Invert = true
	notMarked.Mark = uint32(table)
	notMarked.Table = table
	suppress = netlink.NewRule()
	suppress.Family = nlFamily(fam)
	suppress.Table = TableMain
	suppress.SuppressPrefixlen = 0
	return notMarked, suppress
}

// addDefault routes a /0 through wg-quick's policy routing: the device
// marks its own packets with the table's number, so only they bypass it.
func (e *env) addDefault(link netlink.Link, p *Plan, rt netip.Prefix, st *state) error {
	iface := p.Interface
	if st.Table == 0 {
		dev, err := getDevice(iface)
		if err != nil {
			return err
		}
		table := int(dev.FwMark)
		if table == 0 {
			table = DefaultPolicyTable
			for tableInUse(table) {
				table++
			}
			e.logf("wg set %s fwmark %d", iface, table)
			mark := uint32(table)
			if err := setDevice(iface, &wgtypes.Config{FwMark: &mark}); err != nil {
				return err
			}
		}
		st.Table = table
	}
	fam := family(rt.Addr())
	e.logf("ip -%d route add %s dev %s table %d", fam, rt, iface, st.Table)
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(rt), Scope: netlink.SCOPE_LINK, Table: st.Table}
	if err := netlink.RouteAdd(route); err != nil {
		return fmt.Errorf("add route %s dev %s table %d: %w", rt, iface, st.Table, err)
	}
	notMarked, suppress := policyRules(fam, st.Table)
	e.logf("ip -%d rule add not fwmark %d table %d", fam, st.Table, st.Table)
	if err := netlink.RuleAdd(notMarked); err != nil {
		return fmt.Errorf("add rule not fwmark %d table %d: %w", st.Table, st.Table, err)
	}
	st.Rules = append(st.Rules, fam)
	if err := st.save(iface); err != nil {
		return err
	}
	e.logf("ip -%d rule add table main suppress_prefixlength 0", fam)
	if err := netlink.RuleAdd(suppress); err != nil {
		return fmt.Errorf("add rule table main suppress_prefixlength 0: %w", err)
	}
	addrs, err := netlink.AddrList(link, nlFamily(fam))
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", iface, err)
	}
	var as []netip.Addr
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			as = append(as, ip.Unmap())
		}
	}
	if err := e.addFirewall(iface, fam, st.Table, as, st); err != nil {
		return err
	}
	return st.save(iface)
}

// deleteRules removes the policy rules recorded in st.
func (e *env) deleteRules(st *state) error {
	var errs []error
	for _, fam := range st.Rules {
		notMarked, suppress := policyRules(fam, st.Table)
		e.logf("ip -%d rule delete table %d", fam, st.Table)
		if err := netlink.RuleDel(notMarked); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("delete rule table %d: %w", st.Table, err))
		}
		e.logf("ip -%d rule delete table main suppress_prefixlength 0", fam)
		if err := netlink.RuleDel(suppress); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("delete rule table main suppress_prefixlength 0: %w", err))
		}
	}
	st.Rules = nil
	return errors.Join(errs...)
}
