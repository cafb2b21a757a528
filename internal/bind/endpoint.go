package bind

import (
	"fmt"
	"net/netip"
	"sync"
)

// stdEndpoint is the Endpoint of the standard Binds: the peer's address
// and, on Linux, the local address (and interface, for IPv6 link-local
// sources) that its last datagram arrived on.
type stdEndpoint struct {
	dst netip.AddrPort

	mu         sync.Mutex // guards src and srcIfindex against ClearSrc
	src        netip.Addr
	srcIfindex int32
}

// DstAddrPort implements Endpoint.
func (e *stdEndpoint) DstAddrPort() netip.AddrPort { return e.dst }

// SrcAddr implements Endpoint.
func (e *stdEndpoint) SrcAddr() netip.Addr {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.src
}

// ClearSrc implements Endpoint.
func (e *stdEndpoint) ClearSrc() {
	e.mu.Lock()
	e.src = netip.Addr{}
	e.srcIfindex = 0
	e.mu.Unlock()
}

// String implements Endpoint.
func (e *stdEndpoint) String() string { return e.dst.String() }

// parseEndpoint parses "ip:port" or "[ipv6]:port"; IPv4-mapped IPv6
// addresses become plain IPv4 so that they are sent over the IPv4 socket.
func parseEndpoint(s string) (Endpoint, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return nil, fmt.Errorf("parse endpoint %q: %w", s, err)
	}
	return &stdEndpoint{dst: unmapAddrPort(ap)}, nil
}

// unmapAddrPort turns ::ffff:a.b.c.d into a.b.c.d and keeps everything else.
func unmapAddrPort(ap netip.AddrPort) netip.AddrPort {
	if ap.Addr().Is4In6() {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return ap
}
