package netstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
)

// ErrNoDNS is returned when a name must be resolved but the tunnel has no
// DNS server.
var ErrNoDNS = errors.New("no DNS server configured for the tunnel")

// Resolver returns a resolver whose queries go through the stack to
// servers (port 53), taking them in turn. It is Go's own resolver, so
// names in the system's hosts file still resolve locally, and the system's
// resolv.conf options (search domains, timeouts, attempts) apply. With no
// servers every query fails with ErrNoDNS.
func (d *Device) Resolver(servers []netip.Addr) *net.Resolver {
	servers = append([]netip.Addr(nil), servers...)
	var next atomic.Uint32
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			if len(servers) == 0 {
				return nil, ErrNoDNS
			}
			// The Go resolver dials once per server in resolv.conf and
			// per attempt; rotating spreads those over our servers.
			s := servers[int(next.Add(1)-1)%len(servers)]
			ap := netip.AddrPortFrom(s, 53)
			switch network {
			case "udp", "udp4", "udp6":
				return d.DialUDP(ap)
			case "tcp", "tcp4", "tcp6":
				return d.DialTCP(ctx, ap)
			}
			return nil, fmt.Errorf("netstack: DNS over %q: %w", network, net.UnknownNetworkError(network))
		},
	}
}
