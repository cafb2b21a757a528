// Package bind defines the engine's seam to UDP: a Bind that sends and
// receives batches of datagrams with their Endpoints. Implementations: the
// standard one over the OS's sockets (sticky source addresses and batched
// syscalls on Linux) and an in-memory network for tests (internal/netsim).
package bind

import (
	"errors"
	"net/netip"
)

// ErrClosed is returned by receive functions once the Bind is closed.
var ErrClosed = errors.New("bind closed")

// Endpoint is a peer's address as last seen, plus the local source address
// that packets to it should leave from (sticky source).
type Endpoint interface {
	// DstAddrPort is the remote address and port.
	DstAddrPort() netip.AddrPort
	// SrcAddr is the local address packets to this endpoint should come
	// from; the zero Addr lets the routing table pick.
	SrcAddr() netip.Addr
	// ClearSrc forgets the sticky source address.
	ClearSrc()
	// String is DstAddrPort's string form.
	String() string
}

// ReceiveFunc receives up to len(bufs) datagrams into bufs, recording each
// one's length in sizes[i] and sender in eps[i]. It returns how many it got.
//
// Datagrams the kernel hands over as one run (UDP GRO) stay where they
// landed: the function may point bufs[i] at part of another of the buffers
// it was given instead of copying. A caller that reuses its buffers resets
// the slices before the next call.
type ReceiveFunc func(bufs [][]byte, sizes []int, eps []Endpoint) (n int, err error)

// Bind is a UDP socket (or several, e.g. one per address family).
type Bind interface {
	// Open binds to port (0 picks one) and returns the receive functions,
	// one per socket, and the port actually bound.
	Open(port uint16) (fns []ReceiveFunc, actualPort uint16, err error)
	// Close closes the sockets; blocked receive functions return.
	Close() error
	// SetMark sets the firewall mark (SO_MARK) on outgoing packets; 0 clears it.
	SetMark(mark uint32) error
	// Send sends every bufs[i] to ep.
	Send(bufs [][]byte, ep Endpoint) error
	// ParseEndpoint turns "ip:port" / "[ipv6]:port" into an Endpoint.
	ParseEndpoint(s string) (Endpoint, error)
	// BatchSize is the most datagrams one receive call returns or one Send
	// sends in a single system call.
	BatchSize() int
}
