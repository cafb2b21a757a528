//go:build windows

package bind

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"

	"golang.org/x/sys/windows"
	"golang.zx2c4.com/wireguard/windows/tunnel/winipcfg"
)

// Socket options that pin a socket's outgoing unicast traffic to one
// interface whatever the routing table says (ws2ipdef.h). IP_UNICAST_IF
// takes the interface index in network byte order, IPV6_UNICAST_IF in
// host byte order.
const (
	ipUnicastIf   = 31
	ipv6UnicastIf = 31
)

// Windows is the Bind for Windows: the portable IPv4 and IPv6 sockets,
// which can be pinned to an interface so that a tunnel whose routes could
// capture its own encrypted packets never sends them into itself, and
// which drop a family's sends while that family must be pinned but has no
// physical way out (see FollowDefaultRoute).
type Windows struct {
	portableBind
	gate sendGate

	ifMu  sync.Mutex // guards index
	index [2]uint32  // per Family; 0 is unpinned
}

var _ Bind = (*Windows)(nil)

// NewWindows returns a Windows Bind, not pinned to any interface.
func NewWindows() *Windows { return &Windows{} }

// Open opens the sockets and pins them to the interfaces last given to
// BindToInterface (or chosen by a DefaultRouteFollower).
func (b *Windows) Open(port uint16) ([]ReceiveFunc, uint16, error) {
	fns, actual, err := b.portableBind.Open(port)
	if err != nil {
		return nil, 0, err
	}
	b.ifMu.Lock() // held so that a concurrent bindFamily cannot be undone
	err = errors.Join(b.pin(IPv4, b.index[IPv4]), b.pin(IPv6, b.index[IPv6]))
	b.ifMu.Unlock()
	if err != nil {
		b.portableBind.Close()
		return nil, 0, err
	}
	return fns, actual, nil
}

// Send sends bufs to ep, unless ep's family is in a blackhole: then it
// drops them and reports success.
func (b *Windows) Send(bufs [][]byte, ep Endpoint) error {
	return b.gate.send(bufs, ep, b.portableBind.Send)
}

// Dropped is how many datagrams Send dropped in each family's blackhole.
func (b *Windows) Dropped() (v4, v6 uint64) {
	return b.gate.dropped(IPv4), b.gate.dropped(IPv6)
}

// BindToInterface pins the IPv4 socket's unicast traffic to the interface
// with index v4Index and the IPv6 socket's to v6Index (0 unpins), now if
// the sockets are open and on every later Open.
func (b *Windows) BindToInterface(v4Index, v6Index uint32) error {
	return errors.Join(b.bindFamily(IPv4, v4Index), b.bindFamily(IPv6, v6Index))
}

// bindFamily pins f's socket to interface index, now and on later Opens.
// The index is kept only if it could be applied.
func (b *Windows) bindFamily(f Family, index uint32) error {
	b.ifMu.Lock()
	defer b.ifMu.Unlock()
	if err := b.pin(f, index); err != nil {
		return err
	}
	b.index[f] = index
	return nil
}

// pin applies an interface index to f's socket, if it is open.
func (b *Windows) pin(f Family, index uint32) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if f == IPv4 {
		if b.v4 == nil {
			return nil
		}
		// Network byte order, as the option wants it.
		var be [4]byte
		binary.BigEndian.PutUint32(be[:], index)
		return setsockopt(b.v4, windows.IPPROTO_IP, ipUnicastIf, int(binary.NativeEndian.Uint32(be[:])), "IP_UNICAST_IF", index)
	}
	if b.v6 == nil {
		return nil
	}
	return setsockopt(b.v6, windows.IPPROTO_IPV6, ipv6UnicastIf, int(index), "IPV6_UNICAST_IF", index)
}

func setsockopt(c *net.UDPConn, level, opt, value int, name string, index uint32) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("bind to interface %d: %w", index, err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = windows.SetsockoptInt(windows.Handle(fd), level, opt, value)
	}); err != nil {
		return fmt.Errorf("bind to interface %d: %w", index, err)
	}
	if serr != nil {
		return fmt.Errorf("bind to interface %d: setsockopt %s: %w", index, name, serr)
	}
	return nil
}

// DefaultRouteFollower keeps a Windows Bind's sockets pinned to the
// interface of the best physical default route of each family it was
// given, following route and interface changes, and blackholes a family's
// sends while it has none. Stop it with Close.
type DefaultRouteFollower struct {
	f      *follower
	bind   *Windows
	routes *winipcfg.RouteChangeCallback
	ifaces *winipcfg.InterfaceChangeCallback
}

// FollowDefaultRoute pins b's IPv4 socket (if v4) and IPv6 socket (if v6)
// to the interface of that family's best default route outside the
// tunnel's own adapter (tunnelLUID), by route metric plus interface
// metric, and re-pins whenever a default route, an interface's state or an
// interface metric changes. Pass the families whose packets the tunnel's
// routes could capture (winnet.PinFamilies). While a pinned family has no
// such route its sends are dropped, not sent into the tunnel; they resume
// once one appears.
//
// The first pinning's error is returned; later ones, and the first drop of
// each blackhole (wrapping ErrNoDefaultRoute), go to onError if not nil.
func FollowDefaultRoute(b *Windows, tunnelLUID uint64, v4, v6 bool, onError func(error)) (*DefaultRouteFollower, error) {
	b.gate.setReport(onError)
	f, err := newFollower(routeOS{table: readRouteTable, pin: b.bindFamily}, tunnelLUID, v4, v6, &b.gate, onError)
	if err != nil {
		b.gate.setReport(nil)
		return nil, fmt.Errorf("follow default route: %w", err)
	}
	d := &DefaultRouteFollower{f: f, bind: b}
	f.start()
	d.routes, err = winipcfg.RegisterRouteChangeCallback(func(_ winipcfg.MibNotificationType, r *winipcfg.MibIPforwardRow2) {
		if r != nil {
			f.routeChanged(r.DestinationPrefix.Prefix())
		}
	})
	if err != nil {
		f.close()
		b.gate.setReport(nil)
		return nil, fmt.Errorf("follow default route: register route change callback: %w", err)
	}
	d.ifaces, err = winipcfg.RegisterInterfaceChangeCallback(func(winipcfg.MibNotificationType, *winipcfg.MibIPInterfaceRow) {
		f.changed()
	})
	if err != nil {
		err = errors.Join(err, d.routes.Unregister())
		f.close()
		b.gate.setReport(nil)
		return nil, fmt.Errorf("follow default route: register interface change callback: %w", err)
	}
	// A change between the first update and the registrations was missed.
	f.changed()
	return d, nil
}

// Close stops following; the sockets stay pinned as they are, and a
// family in a blackhole stays in it (the tunnel is going down).
func (d *DefaultRouteFollower) Close() error {
	err := errors.Join(d.routes.Unregister(), d.ifaces.Unregister())
	d.f.close()
	d.bind.gate.setReport(nil)
	return err
}

// readRouteTable reads family f's default routes and IP interfaces, with
// each interface's operational state.
func readRouteTable(f Family) (RouteTable, error) {
	af := winipcfg.AddressFamily(windows.AF_INET)
	if f == IPv6 {
		af = windows.AF_INET6
	}
	routes, err := winipcfg.GetIPForwardTable2(af)
	if err != nil {
		return RouteTable{}, fmt.Errorf("routes: %w", err)
	}
	ipifs, err := winipcfg.GetIPInterfaceTable(af)
	if err != nil {
		return RouteTable{}, fmt.Errorf("IP interfaces: %w", err)
	}
	ifs, err := winipcfg.GetIfTable2Ex(winipcfg.MibIfEntryNormalWithoutStatistics)
	if err != nil {
		return RouteTable{}, fmt.Errorf("interfaces: %w", err)
	}
	up := make(map[winipcfg.LUID]bool, len(ifs))
	for i := range ifs {
		up[ifs[i].InterfaceLUID] = ifs[i].OperStatus == winipcfg.IfOperStatusUp
	}
	var t RouteTable
	for i := range routes {
		r := &routes[i]
		if r.DestinationPrefix.PrefixLength != 0 {
			continue // only default routes matter, and tables can be long
		}
		t.Routes = append(t.Routes, Route{Prefix: r.DestinationPrefix.Prefix(), LUID: uint64(r.InterfaceLUID), Metric: r.Metric})
	}
	for i := range ipifs {
		ipif := &ipifs[i]
		t.Interfaces = append(t.Interfaces, Interface{
			LUID: uint64(ipif.InterfaceLUID), Index: ipif.InterfaceIndex, Up: up[ipif.InterfaceLUID], Metric: ipif.Metric,
		})
	}
	return t, nil
}
