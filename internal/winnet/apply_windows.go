//go:build windows

package winnet

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/windows"
	"golang.zx2c4.com/wireguard/windows/tunnel/winipcfg"
)

// InterfaceMetric is the tunnel adapter's interface metric: low, so that
// its routes win ties against physical interfaces.
const InterfaceMetric = 5

// Applied is a Plan in effect on an adapter. Undo removes what Apply
// added: filters, DNS, routes and addresses.
type Applied struct {
	plan   *Plan
	luid   winipcfg.LUID
	addrs  []netip.Prefix
	routes []Route
	dns    bool
	fw     *firewall
}

// Apply puts p into effect on the adapter with the given LUID (the Wintun
// adapter's): the kill switch in a dynamic WFP session first, then the
// interface MTU and metric, addresses, routes, DNS servers and search
// domains. On failure
// it undoes what it did and returns the error.
func Apply(p *Plan, luid uint64) (*Applied, error) {
	a := &Applied{plan: p, luid: winipcfg.LUID(luid)}
	if err := a.apply(); err != nil {
		return nil, errors.Join(fmt.Errorf("apply network plan of %s: %w", p.Name, err), a.Undo())
	}
	return a, nil
}

func (a *Applied) apply() error {
	p := a.plan
	// The kill switch goes first, so that no packet leaks in the moment
	// between the routes appearing and the filters arriving.
	if len(p.Firewall) > 0 {
		fw, err := openFirewall(p.Name, uint64(a.luid), p.Firewall)
		if err != nil {
			return err
		}
		a.fw = fw
	}
	has6 := p.DefaultRoute6
	for _, ad := range p.Addresses {
		has6 = has6 || ad.Addr().Is6()
	}
	for _, r := range p.Routes {
		has6 = has6 || r.Prefix.Addr().Is6()
	}
	for _, family := range []winipcfg.AddressFamily{windows.AF_INET, windows.AF_INET6} {
		if family == windows.AF_INET6 && !has6 {
			continue
		}
		row, err := a.luid.IPInterface(family)
		if err != nil {
			return fmt.Errorf("read %s interface: %w", familyName(family), err)
		}
		row.NLMTU = uint32(p.MTU)
		row.UseAutomaticMetric = false
		row.Metric = InterfaceMetric
		if family == windows.AF_INET6 {
			row.DadTransmits = 0
			row.RouterDiscoveryBehavior = winipcfg.RouterDiscoveryDisabled
		}
		if err := row.Set(); err != nil {
			return fmt.Errorf("set %s interface MTU %d and metric: %w", familyName(family), p.MTU, err)
		}
	}
	for _, ad := range p.Addresses {
		if err := a.luid.AddIPAddress(ad); err != nil {
			return fmt.Errorf("add address %v: %w", ad, err)
		}
		a.addrs = append(a.addrs, ad)
	}
	for _, r := range p.Routes {
		if err := a.luid.AddRoute(r.Prefix, zeroAddr(r.Prefix.Addr()), r.Metric); err != nil {
			return fmt.Errorf("add route %v: %w", r.Prefix, err)
		}
		a.routes = append(a.routes, r)
	}
	if len(p.DNS) > 0 || len(p.DNSSearch) > 0 {
		a.dns = true
		for _, family := range []winipcfg.AddressFamily{windows.AF_INET, windows.AF_INET6} {
			if err := a.luid.SetDNS(family, p.DNS, p.DNSSearch); err != nil {
				return fmt.Errorf("set %s DNS: %w", familyName(family), err)
			}
		}
	}
	return nil
}

// Undo removes the kill switch, DNS settings, routes and addresses Apply
// added, in reverse order, and reports every failure. Idempotent.
func (a *Applied) Undo() error {
	if a == nil {
		return nil
	}
	var errs []error
	if err := a.fw.close(); err != nil {
		errs = append(errs, err)
	}
	a.fw = nil
	if a.dns {
		for _, family := range []winipcfg.AddressFamily{windows.AF_INET, windows.AF_INET6} {
			if err := a.luid.FlushDNS(family); err != nil {
				errs = append(errs, fmt.Errorf("flush %s DNS: %w", familyName(family), err))
			}
		}
		a.dns = false
	}
	for i := len(a.routes) - 1; i >= 0; i-- {
		r := a.routes[i]
		if err := a.luid.DeleteRoute(r.Prefix, zeroAddr(r.Prefix.Addr())); err != nil && !gone(err) {
			errs = append(errs, fmt.Errorf("delete route %v: %w", r.Prefix, err))
		}
	}
	a.routes = nil
	for i := len(a.addrs) - 1; i >= 0; i-- {
		ad := a.addrs[i]
		if err := a.luid.DeleteIPAddress(ad); err != nil && !gone(err) {
			errs = append(errs, fmt.Errorf("delete address %v: %w", ad, err))
		}
	}
	a.addrs = nil
	if len(errs) > 0 {
		return fmt.Errorf("undo network plan of %s: %w", a.plan.Name, errors.Join(errs...))
	}
	return nil
}

// gone reports errors that mean the object is already removed (the
// adapter was deleted first, which takes its addresses and routes along).
func gone(err error) bool {
	return errors.Is(err, windows.ERROR_NOT_FOUND) || errors.Is(err, windows.ERROR_FILE_NOT_FOUND) ||
		errors.Is(err, windows.ERROR_INVALID_PARAMETER)
}

// zeroAddr is the unspecified address of a's family: an on-link next hop.
func zeroAddr(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

func familyName(f winipcfg.AddressFamily) string {
	if f == windows.AF_INET6 {
		return "IPv6"
	}
	return "IPv4"
}
