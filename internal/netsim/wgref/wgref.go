// Package wgref runs the reference implementation (golang.zx2c4.com/wireguard)
// on a netsim network, for interoperability tests: NewBind adapts a netsim
// Bind to the reference's conn.Bind, and NewDevice starts a reference device
// on it with an in-memory TUN and configures it through UAPI text.
//
// This package exists only for tests. It is the one non-test package allowed
// to import the reference implementation, and it must never be imported by
// non-test code (a layering test enforces both). It imports internal/netsim,
// internal/bind and internal/tun of this module.
package wgref

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"golang.zx2c4.com/wireguard/conn"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/netsim"
)

// Bind adapts a *netsim.Bind to the reference's conn.Bind.
type Bind struct {
	// Sim is the netsim Bind underneath, for its knobs and counters
	// (Move, Stats, Mark, LocalAddrPort).
	Sim *netsim.Bind
}

var _ conn.Bind = (*Bind)(nil)

// NewBind returns a conn.Bind living at addr on n.
func NewBind(n *netsim.Network, addr netip.Addr) *Bind {
	return &Bind{Sim: n.NewBind(addr)}
}

// Open implements conn.Bind.
func (b *Bind) Open(port uint16) ([]conn.ReceiveFunc, uint16, error) {
	fns, actual, err := b.Sim.Open(port)
	if err != nil {
		if errors.Is(err, netsim.ErrAlreadyOpen) {
			return nil, 0, fmt.Errorf("%w: %w", conn.ErrBindAlreadyOpen, err)
		}
		return nil, 0, err
	}
	out := make([]conn.ReceiveFunc, len(fns))
	for i, fn := range fns {
		out[i] = adaptReceive(fn, b.Sim.BatchSize())
	}
	return out, actual, nil
}

// adaptReceive converts a bind.ReceiveFunc to a conn.ReceiveFunc. The
// reference calls each receive function from one goroutine, so the scratch
// slice is not shared; the mutex only guards against misuse.
func adaptReceive(fn bind.ReceiveFunc, batch int) conn.ReceiveFunc {
	var mu sync.Mutex
	scratch := make([]bind.Endpoint, batch)
	return func(bufs [][]byte, sizes []int, eps []conn.Endpoint) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(scratch) < len(bufs) {
			scratch = make([]bind.Endpoint, len(bufs))
		}
		n, err := fn(bufs, sizes, scratch[:len(bufs)])
		for i := range n {
			eps[i] = &Endpoint{ep: scratch[i]}
			scratch[i] = nil
		}
		return n, err
	}
}

// Close implements conn.Bind; receive functions then return an error
// matching net.ErrClosed.
func (b *Bind) Close() error { return b.Sim.Close() }

// SetMark implements conn.Bind.
func (b *Bind) SetMark(mark uint32) error { return b.Sim.SetMark(mark) }

// Send implements conn.Bind.
func (b *Bind) Send(bufs [][]byte, ep conn.Endpoint) error {
	e, ok := ep.(*Endpoint)
	if !ok {
		return fmt.Errorf("wgref: send to %T: %w", ep, conn.ErrWrongEndpointType)
	}
	return b.Sim.Send(bufs, e.ep)
}

// ParseEndpoint implements conn.Bind.
func (b *Bind) ParseEndpoint(s string) (conn.Endpoint, error) {
	ep, err := netsim.ParseEndpoint(s)
	if err != nil {
		return nil, err
	}
	return &Endpoint{ep: ep}, nil
}

// BatchSize implements conn.Bind.
func (b *Bind) BatchSize() int { return b.Sim.BatchSize() }

// Endpoint adapts a bind.Endpoint to the reference's conn.Endpoint.
type Endpoint struct {
	ep bind.Endpoint
}

var _ conn.Endpoint = (*Endpoint)(nil)

// ClearSrc implements conn.Endpoint.
func (e *Endpoint) ClearSrc() { e.ep.ClearSrc() }

// SrcToString implements conn.Endpoint.
func (e *Endpoint) SrcToString() string {
	if a := e.ep.SrcAddr(); a.IsValid() {
		return a.String()
	}
	return ""
}

// DstToString implements conn.Endpoint.
func (e *Endpoint) DstToString() string { return e.ep.DstAddrPort().String() }

// DstToBytes implements conn.Endpoint; the bytes feed the cookie MAC.
func (e *Endpoint) DstToBytes() []byte {
	b, _ := e.ep.DstAddrPort().MarshalBinary()
	return b
}

// DstIP implements conn.Endpoint.
func (e *Endpoint) DstIP() netip.Addr { return e.ep.DstAddrPort().Addr() }

// SrcIP implements conn.Endpoint.
func (e *Endpoint) SrcIP() netip.Addr { return e.ep.SrcAddr() }

// AddrPort returns the destination address and port.
func (e *Endpoint) AddrPort() netip.AddrPort { return e.ep.DstAddrPort() }
