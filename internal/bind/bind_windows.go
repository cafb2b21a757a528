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
// which can be pinned to an interface so that a tunnel that takes the
// default route never routes its own encrypted packets into itself.
type Windows struct {
	portableBind

	ifMu             sync.Mutex // guards v4Index, v6Index
	v4Index, v6Index uint32
}

var _ Bind = (*Windows)(nil)

// NewWindows returns a Windows Bind, not pinned to any interface.
func NewWindows() *Windows { return &Windows{} }

// Open opens the sockets and pins them to the interfaces last given to
// BindToInterface.
func (b *Windows) Open(port uint16) ([]ReceiveFunc, uint16, error) {
	fns, actual, err := b.portableBind.Open(port)
	if err != nil {
		return nil, 0, err
	}
	b.ifMu.Lock()
	v4, v6 := b.v4Index, b.v6Index
	b.ifMu.Unlock()
	if err := b.pin(v4, v6); err != nil {
		b.portableBind.Close()
		return nil, 0, err
	}
	return fns, actual, nil
}

// BindToInterface pins the IPv4 socket's unicast traffic to the interface
// with index v4Index and the IPv6 socket's to v6Index (0 unpins), now if
// the sockets are open and on every later Open.
func (b *Windows) BindToInterface(v4Index, v6Index uint32) error {
	b.ifMu.Lock()
	b.v4Index, b.v6Index = v4Index, v6Index
	b.ifMu.Unlock()
	return b.pin(v4Index, v6Index)
}

// pin applies the interface indices to the open sockets.
func (b *Windows) pin(v4Index, v6Index uint32) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var errs []error
	if b.v4 != nil {
		// Network byte order, as the option wants it.
		var be [4]byte
		binary.BigEndian.PutUint32(be[:], v4Index)
		errs = append(errs, setsockopt(b.v4, windows.IPPROTO_IP, ipUnicastIf, int(binary.NativeEndian.Uint32(be[:])), "IP_UNICAST_IF", v4Index))
	}
	if b.v6 != nil {
		errs = append(errs, setsockopt(b.v6, windows.IPPROTO_IPV6, ipv6UnicastIf, int(v6Index), "IPV6_UNICAST_IF", v6Index))
	}
	return errors.Join(errs...)
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

// DefaultRouteFollower keeps a Windows Bind pinned to the interfaces of
// the best IPv4 and IPv6 default routes outside the tunnel, following
// route and interface changes. Stop it with Close.
type DefaultRouteFollower struct {
	bind    *Windows
	exclude winipcfg.LUID
	family4 bool
	family6 bool
	onError func(error)

	mu     sync.Mutex // serialises updates from the system's callback threads
	closed bool
	routes *winipcfg.RouteChangeCallback
	ifaces *winipcfg.InterfaceChangeCallback
}

// FollowDefaultRoute pins b to the best default route's interface for
// each family the tunnel takes over (v4, v6), ignoring routes through the
// tunnel's own adapter (tunnelLUID), and re-pins whenever routes or
// interface metrics change. onError, if not nil, receives failures of the
// later re-pinning (the first one is returned).
func FollowDefaultRoute(b *Windows, tunnelLUID uint64, v4, v6 bool, onError func(error)) (*DefaultRouteFollower, error) {
	f := &DefaultRouteFollower{bind: b, exclude: winipcfg.LUID(tunnelLUID), family4: v4, family6: v6, onError: onError}
	if err := f.update(); err != nil {
		return nil, err
	}
	var err error
	f.routes, err = winipcfg.RegisterRouteChangeCallback(func(_ winipcfg.MibNotificationType, r *winipcfg.MibIPforwardRow2) {
		if r != nil && r.DestinationPrefix.PrefixLength == 0 {
			f.updateAsync()
		}
	})
	if err != nil {
		return nil, fmt.Errorf("follow default route: register route change callback: %w", err)
	}
	f.ifaces, err = winipcfg.RegisterInterfaceChangeCallback(func(winipcfg.MibNotificationType, *winipcfg.MibIPInterfaceRow) {
		f.updateAsync()
	})
	if err != nil {
		f.routes.Unregister()
		return nil, fmt.Errorf("follow default route: register interface change callback: %w", err)
	}
	return f, nil
}

// updateAsync re-pins from a system callback; it must not block the
// notifying thread for long, and reports errors to onError.
func (f *DefaultRouteFollower) updateAsync() {
	go func() {
		if err := f.update(); err != nil && f.onError != nil {
			f.onError(err)
		}
	}()
}

func (f *DefaultRouteFollower) update() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	var v4, v6 uint32
	var err error
	if f.family4 {
		if v4, err = bestDefaultInterface(windows.AF_INET, f.exclude); err != nil {
			return err
		}
	}
	if f.family6 {
		if v6, err = bestDefaultInterface(windows.AF_INET6, f.exclude); err != nil {
			return err
		}
	}
	f.bind.ifMu.Lock()
	same := f.bind.v4Index == v4 && f.bind.v6Index == v6
	f.bind.ifMu.Unlock()
	if same {
		return nil
	}
	return f.bind.BindToInterface(v4, v6)
}

// Close stops following and leaves the sockets pinned as they are.
func (f *DefaultRouteFollower) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return errors.Join(f.routes.Unregister(), f.ifaces.Unregister())
}

// bestDefaultInterface returns the index of the interface whose default
// route has the lowest total metric (route metric plus interface metric),
// skipping the tunnel's adapter and interfaces that are not up; 0 when
// there is none (the socket then follows the routing table).
func bestDefaultInterface(family winipcfg.AddressFamily, exclude winipcfg.LUID) (uint32, error) {
	routes, err := winipcfg.GetIPForwardTable2(family)
	if err != nil {
		return 0, fmt.Errorf("default route: read routing table: %w", err)
	}
	best, bestMetric := uint32(0), ^uint32(0)
	for i := range routes {
		r := &routes[i]
		if r.DestinationPrefix.PrefixLength != 0 || r.InterfaceLUID == exclude {
			continue
		}
		iface, err := r.InterfaceLUID.Interface()
		if err != nil || iface.OperStatus != winipcfg.IfOperStatusUp {
			continue
		}
		ip, err := r.InterfaceLUID.IPInterface(family)
		if err != nil {
			continue
		}
		if m := r.Metric + ip.Metric; m < bestMetric {
			best, bestMetric = r.InterfaceIndex, m
		}
	}
	return best, nil
}
