package winnet

import (
	"errors"
	"net/netip"
)

// IPFamily is an IP address family as TCP/IP attaches it to an adapter:
// each family has its own IP interface (MTU, metric, addresses, routes,
// DNS), which may appear later than the other or never.
type IPFamily uint8

// The two families.
const (
	FamilyIPv4 IPFamily = 4
	FamilyIPv6 IPFamily = 6
)

// families is every family, in the order they are configured.
var families = [...]IPFamily{FamilyIPv4, FamilyIPv6}

func (f IPFamily) String() string {
	if f == FamilyIPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// familyOf is the family of a.
func familyOf(a netip.Addr) IPFamily {
	if a.Unmap().Is4() {
		return FamilyIPv4
	}
	return FamilyIPv6
}

// Errors an IPHelper wraps so that the configuration logic can tell them
// apart without knowing Windows' error codes.
var (
	// ErrNotFound: the object is not there. From Interface: TCP/IP has not
	// attached the family to the adapter (yet, or at all). From a delete:
	// already gone (the adapter took it along). From an add or set early at
	// boot: a part of the network stack is not ready yet.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: an add found the address or route already there.
	ErrAlreadyExists = errors.New("already exists")
)

// ErrAddressInUse is wrapped when an address of the tunnel is held by
// another adapter that is up: warren does not take it away.
var ErrAddressInUse = errors.New("address in use on another connected adapter")

// ErrNotAttached is wrapped when TCP/IP attached no family to the adapter
// within the time allowed.
var ErrNotAttached = errors.New("TCP/IP did not attach to the adapter")

// IPInterface is the part of an adapter's IP interface (one family's
// MIB_IPINTERFACE_ROW) that a tunnel sets.
type IPInterface struct {
	// MTU is the family's link MTU (NlMtu).
	MTU uint32
	// Metric is the interface metric; AutomaticMetric lets Windows pick
	// one from the link speed instead.
	Metric          uint32
	AutomaticMetric bool
	// RouterDiscovery, DADTransmits, ManagedAddressConfiguration and
	// OtherStatefulConfiguration are autoconfiguration a point-to-point
	// tunnel has no use for: no router ever answers on it, and duplicate
	// address detection only delays the addresses.
	RouterDiscovery             bool
	DADTransmits                uint32
	ManagedAddressConfiguration bool
	OtherStatefulConfiguration  bool
}

// Holder is an adapter holding an address, as AddressHolders reports it.
type Holder struct {
	// Interface identifies the adapter (its LUID on Windows).
	Interface uint64
	// Name is the adapter's friendly name, for messages.
	Name string
	// Prefix is the address as the adapter holds it, with its on-link
	// prefix length.
	Prefix netip.Prefix
	// Up says whether the adapter is operationally up (connected).
	Up bool
	// Ours says whether it is the tunnel's own adapter.
	Ours bool
}

// IPHelper is what configuring a tunnel adapter needs of the IP Helper
// API, for one adapter. The Windows implementation calls winipcfg; tests
// use a fake. Errors wrap ErrNotFound and ErrAlreadyExists where the
// system says so.
type IPHelper interface {
	// Interface reads the adapter's IP interface of family f. An error
	// wrapping ErrNotFound means TCP/IP has not attached f to the adapter.
	Interface(f IPFamily) (IPInterface, error)
	// SetInterface writes the fields of IPInterface into the adapter's IP
	// interface of family f, leaving the rest of the row as it is.
	SetInterface(f IPFamily, s IPInterface) error
	// AddAddress and DeleteAddress add and remove a unicast address.
	AddAddress(p netip.Prefix) error
	DeleteAddress(p netip.Prefix) error
	// AddRoute and DeleteRoute add and remove an on-link route.
	AddRoute(r Route) error
	DeleteRoute(r Route) error
	// SetDNS sets the family's DNS servers (those of the family among
	// servers) and search domains; FlushDNS clears them.
	SetDNS(f IPFamily, servers []netip.Addr, search []string) error
	FlushDNS(f IPFamily) error
	// AddressHolders lists every adapter, the tunnel's own included
	// (Holder.Ours), that holds address a.
	AddressHolders(a netip.Addr) ([]Holder, error)
	// DeleteHeld removes an address from the adapter holding it.
	DeleteHeld(h Holder) error
	// FamilyDisabled reports whether family f is switched off for
	// adapters like the tunnel's machine-wide (IPv6 through the registry's
	// DisabledComponents), so that waiting for it is pointless.
	FamilyDisabled(f IPFamily) bool
}
