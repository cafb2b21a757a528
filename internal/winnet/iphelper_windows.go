//go:build windows

package winnet

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.zx2c4.com/wireguard/windows/tunnel/winipcfg"
)

// ipHelper is IPHelper over winipcfg for one adapter.
type ipHelper struct{ luid winipcfg.LUID }

var _ IPHelper = ipHelper{}

func newIPHelper(luid uint64) ipHelper { return ipHelper{luid: winipcfg.LUID(luid)} }

func winFamily(f IPFamily) winipcfg.AddressFamily {
	if f == FamilyIPv6 {
		return windows.AF_INET6
	}
	return windows.AF_INET
}

// ipError is a system error that also matches one of the package's
// sentinels (ErrNotFound, ErrAlreadyExists) with errors.Is, so that the
// configuration logic decides without knowing Windows' codes, and the
// message keeps Windows' words.
type ipError struct {
	kind error
	err  error
}

func (e *ipError) Error() string   { return e.err.Error() }
func (e *ipError) Unwrap() []error { return []error{e.kind, e.err} }

// classify wraps err as ErrNotFound or ErrAlreadyExists where Windows
// says so. deleting also counts ERROR_INVALID_PARAMETER as gone: the
// adapter was removed first and took its addresses and routes along.
func classify(err error, deleting bool) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, windows.ERROR_NOT_FOUND), errors.Is(err, windows.ERROR_FILE_NOT_FOUND),
		deleting && errors.Is(err, windows.ERROR_INVALID_PARAMETER):
		return &ipError{ErrNotFound, err}
	case errors.Is(err, windows.ERROR_OBJECT_ALREADY_EXISTS):
		return &ipError{ErrAlreadyExists, err}
	}
	return err
}

func (h ipHelper) Interface(f IPFamily) (IPInterface, error) {
	row, err := h.luid.IPInterface(winFamily(f))
	if err != nil {
		return IPInterface{}, classify(err, false)
	}
	return IPInterface{
		MTU:                         row.NLMTU,
		Metric:                      row.Metric,
		AutomaticMetric:             row.UseAutomaticMetric,
		RouterDiscovery:             row.RouterDiscoveryBehavior != winipcfg.RouterDiscoveryDisabled,
		DADTransmits:                row.DadTransmits,
		ManagedAddressConfiguration: row.ManagedAddressConfigurationSupported,
		OtherStatefulConfiguration:  row.OtherStatefulConfigurationSupported,
	}, nil
}

func (h ipHelper) SetInterface(f IPFamily, s IPInterface) error {
	row, err := h.luid.IPInterface(winFamily(f))
	if err != nil {
		return classify(err, false)
	}
	row.NLMTU = s.MTU
	row.Metric = s.Metric
	row.UseAutomaticMetric = s.AutomaticMetric
	if !s.RouterDiscovery {
		row.RouterDiscoveryBehavior = winipcfg.RouterDiscoveryDisabled
	}
	row.DadTransmits = s.DADTransmits
	row.ManagedAddressConfigurationSupported = s.ManagedAddressConfiguration
	row.OtherStatefulConfigurationSupported = s.OtherStatefulConfiguration
	return classify(row.Set(), false)
}

func (h ipHelper) AddAddress(p netip.Prefix) error {
	return classify(h.luid.AddIPAddress(p), false)
}

func (h ipHelper) DeleteAddress(p netip.Prefix) error {
	return classify(h.luid.DeleteIPAddress(p), true)
}

// onLink is the unspecified address of a's family: an on-link next hop.
func onLink(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

func (h ipHelper) AddRoute(r Route) error {
	return classify(h.luid.AddRoute(r.Prefix, onLink(r.Prefix.Addr()), r.Metric), false)
}

func (h ipHelper) DeleteRoute(r Route) error {
	return classify(h.luid.DeleteRoute(r.Prefix, onLink(r.Prefix.Addr())), true)
}

func (h ipHelper) SetDNS(f IPFamily, servers []netip.Addr, search []string) error {
	return classify(h.luid.SetDNS(winFamily(f), servers, search), false)
}

func (h ipHelper) FlushDNS(f IPFamily) error {
	return classify(h.luid.FlushDNS(winFamily(f)), true)
}

func (h ipHelper) AddressHolders(a netip.Addr) ([]Holder, error) {
	a = a.Unmap()
	ifaces, err := winipcfg.GetAdaptersAddresses(winFamily(familyOf(a)), winipcfg.GAAFlagDefault)
	if err != nil {
		return nil, fmt.Errorf("list adapters: %w", err)
	}
	var out []Holder
	for _, ifc := range ifaces {
		for u := ifc.FirstUnicastAddress; u != nil; u = u.Next {
			ip, ok := netip.AddrFromSlice(u.Address.IP())
			if !ok || ip.Unmap() != a {
				continue
			}
			out = append(out, Holder{
				Interface: uint64(ifc.LUID),
				Name:      ifc.FriendlyName(),
				Prefix:    netip.PrefixFrom(a, int(u.OnLinkPrefixLength)),
				Up:        ifc.OperStatus == winipcfg.IfOperStatusUp,
				Ours:      ifc.LUID == h.luid,
			})
		}
	}
	return out, nil
}

func (h ipHelper) DeleteHeld(held Holder) error {
	return classify(winipcfg.LUID(held.Interface).DeleteIPAddress(held.Prefix), true)
}

// ipv6DisabledOnAdapters is the bit of Tcpip6's DisabledComponents that
// turns IPv6 off on every interface that is not an IPv6 transition tunnel
// (Wintun's adapters included); 0xff, the documented "disable IPv6", has
// it too.
const ipv6DisabledOnAdapters = 0x10

func (h ipHelper) FamilyDisabled(f IPFamily) bool {
	if f != FamilyIPv6 {
		return false
	}
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Services\Tcpip6\Parameters`, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	defer k.Close()
	v, _, err := k.GetIntegerValue("DisabledComponents")
	return err == nil && v&ipv6DisabledOnAdapters != 0
}
