// Package netstack owns warren's rootless mode: a tun.Device whose far side
// is gVisor's userspace TCP/IP stack instead of a kernel interface. The
// engine (internal/device) encrypts and decrypts packets exactly as it does
// for a kernel TUN, while programs in the same process open TCP and UDP
// connections on the stack (Dial, Listen) and resolve names through the
// tunnel's DNS servers (Resolver). The stack answers ICMP echo on its own
// addresses. Nothing here needs root or a network interface.
//
// netstack imports gvisor.dev/gvisor and, of this module, only internal/tun.
// It is linked by the rootless commands (warren proxy, warren demo) and never
// by the wg command set or the kernel-TUN daemon (see layering_test.go).
package netstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/warren-vpn/warren/internal/tun"
)

const (
	// nicID is the stack's one network interface.
	nicID tcpip.NICID = 1
	// batchSize is the most packets one Read returns, as the Linux TUN's.
	batchSize = 128
	// queueLen bounds the packets the stack may queue for the engine
	// before it drops (and TCP backs off).
	queueLen = 4096
	// DefaultMTU is used when Options.MTU is 0, as wg-quick's default.
	DefaultMTU = 1420
	// DefaultName is what Name reports when Options.Name is empty.
	DefaultName = "netstack"

	// TCP buffer bounds. Larger than gVisor's defaults (1 MiB receive,
	// 1 MiB send) so that one connection can fill a fast tunnel; receive
	// buffer moderation grows each connection's buffer toward the maximum
	// only when the transfer needs it.
	tcpBufMin     = 4 << 10
	tcpBufDefault = 1 << 20
	tcpBufMax     = 8 << 20
)

// ErrNoAddress is returned when a Device would have no address of the
// family a connection needs.
var ErrNoAddress = errors.New("netstack: no local address of that family")

// Options configure a Device.
type Options struct {
	// Addresses are the stack's own addresses (wg0.conf's Address lines,
	// without prefix lengths). At least one is required.
	Addresses []netip.Addr
	// MTU of the interface; 0 means DefaultMTU.
	MTU int
	// Name reported by Name; "" means DefaultName.
	Name string
}

// Device is a tun.Device on a userspace TCP/IP stack. Packets the stack
// sends come out of Read; packets written with Write go into the stack.
type Device struct {
	name   string
	mtu    int
	addrs  []netip.Addr
	stack  *stack.Stack
	ep     *channel.Endpoint
	notify *channel.NotificationHandle
	wake   chan struct{} // capacity 1: the stack queued a packet
	events chan tun.Event

	// mu orders Write and Close: Close waits for writes in progress, and
	// no packet enters the stack after it has closed.
	mu        sync.RWMutex
	closed    chan struct{}
	closeOnce sync.Once
}

var _ tun.Device = (*Device)(nil)

// New returns a Device with its own userspace stack holding opts.Addresses,
// routing everything else out through Read. It reports EventUp at once.
func New(opts Options) (*Device, error) {
	if len(opts.Addresses) == 0 {
		return nil, errors.New("netstack: no addresses")
	}
	mtu := opts.MTU
	if mtu == 0 {
		mtu = DefaultMTU
	}
	if mtu < 576 || mtu > 65535 {
		return nil, fmt.Errorf("netstack: MTU %d out of range 576-65535", mtu)
	}
	name := opts.Name
	if name == "" {
		name = DefaultName
	}
	d := &Device{
		name:   name,
		mtu:    mtu,
		addrs:  make([]netip.Addr, len(opts.Addresses)),
		ep:     channel.New(queueLen, uint32(mtu), ""),
		wake:   make(chan struct{}, 1),
		events: make(chan tun.Event, 4),
		closed: make(chan struct{}),
		stack: stack.New(stack.Options{
			NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol},
			TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
			// Connections to the stack's own addresses stay inside it.
			HandleLocal: true,
		}),
	}
	for i, a := range opts.Addresses {
		d.addrs[i] = a.Unmap()
	}
	if err := d.setup(); err != nil {
		d.stack.Close()
		d.stack.Wait()
		return nil, err
	}
	d.notify = d.ep.AddNotify(notifier(d.wake))
	d.events <- tun.EventUp
	return d, nil
}

func (d *Device) setup() error {
	sack := tcpip.TCPSACKEnabled(true)
	if err := d.stack.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		return fmt.Errorf("netstack: enable TCP SACK: %v", err)
	}
	rcv := tcpip.TCPReceiveBufferSizeRangeOption{Min: tcpBufMin, Default: tcpBufDefault, Max: tcpBufMax}
	if err := d.stack.SetTransportProtocolOption(tcp.ProtocolNumber, &rcv); err != nil {
		return fmt.Errorf("netstack: TCP receive buffer: %v", err)
	}
	snd := tcpip.TCPSendBufferSizeRangeOption{Min: tcpBufMin, Default: tcpBufDefault, Max: tcpBufMax}
	if err := d.stack.SetTransportProtocolOption(tcp.ProtocolNumber, &snd); err != nil {
		return fmt.Errorf("netstack: TCP send buffer: %v", err)
	}
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	if err := d.stack.SetTransportProtocolOption(tcp.ProtocolNumber, &moderate); err != nil {
		return fmt.Errorf("netstack: TCP receive buffer moderation: %v", err)
	}
	// Every packet Write delivers was authenticated by WireGuard's AEAD
	// on its way from the peer, so the stack need not verify checksums
	// again (it still computes them for what it sends).
	d.ep.LinkEPCapabilities |= stack.CapabilityRXChecksumOffload
	// gVisor's software GSO: TCP builds large segments and cuts them to
	// the MSS only on the way out, which costs less per byte than
	// building every MSS-sized segment on its own. Read still sees
	// ordinary packets no larger than the MTU.
	// (Measured: about a fifth less CPU per byte on a bulk transfer.)
	d.ep.SupportedGSOKind = stack.GVisorGSOSupported
	if err := d.stack.CreateNIC(nicID, d.ep); err != nil {
		return fmt.Errorf("netstack: create NIC: %v", err)
	}
	var v4, v6 bool
	for _, a := range d.addrs {
		if !a.IsValid() || a.IsUnspecified() {
			return fmt.Errorf("netstack: address %v is not usable", a)
		}
		pa := tcpip.ProtocolAddress{
			Protocol:          protocol(a),
			AddressWithPrefix: tcpip.AddrFromSlice(a.AsSlice()).WithPrefix(),
		}
		if err := d.stack.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("netstack: add address %v: %v", a, err)
		}
		v4 = v4 || a.Is4()
		v6 = v6 || a.Is6()
	}
	// Everything not local goes to the engine, which routes by AllowedIPs.
	if v4 {
		d.stack.AddRoute(tcpip.Route{Destination: header.IPv4EmptySubnet, NIC: nicID})
	}
	if v6 {
		d.stack.AddRoute(tcpip.Route{Destination: header.IPv6EmptySubnet, NIC: nicID})
	}
	return nil
}

// notifier wakes a blocked Read when the stack queues a packet.
type notifier chan struct{}

func (n notifier) WriteNotify() {
	select {
	case n <- struct{}{}:
	default:
	}
}

func protocol(a netip.Addr) tcpip.NetworkProtocolNumber {
	if a.Is4() {
		return ipv4.ProtocolNumber
	}
	return ipv6.ProtocolNumber
}

// Addresses returns the stack's own addresses.
func (d *Device) Addresses() []netip.Addr { return append([]netip.Addr(nil), d.addrs...) }

// Read returns the packets the stack has queued, at least one, waiting
// for one if there are none. Packets larger than a buffer are dropped.
// After Close it returns an error wrapping os.ErrClosed.
func (d *Device) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	for {
		n := d.drain(bufs, sizes, offset)
		if n > 0 {
			return n, nil
		}
		select {
		case <-d.wake:
		case <-d.closed:
			return 0, fmt.Errorf("netstack: read: %w", os.ErrClosed)
		}
	}
}

func (d *Device) drain(bufs [][]byte, sizes []int, offset int) int {
	n := 0
	for n < len(bufs) {
		pkt := d.ep.Read()
		if pkt == nil {
			break
		}
		dst := bufs[n][offset:]
		size := 0
		fits := pkt.Size() <= len(dst)
		if fits {
			for _, s := range pkt.AsSlices() {
				size += copy(dst[size:], s)
			}
		}
		pkt.DecRef()
		if fits {
			sizes[n] = size
			n++
		}
	}
	return n
}

// Write hands each packet to the stack. Packets that are not IPv4 or IPv6
// are dropped. It returns os.ErrClosed after Close.
func (d *Device) Write(bufs [][]byte, offset int) (int, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	select {
	case <-d.closed:
		return 0, fmt.Errorf("netstack: write: %w", os.ErrClosed)
	default:
	}
	for _, b := range bufs {
		pkt := b[offset:]
		if len(pkt) == 0 {
			continue
		}
		var proto tcpip.NetworkProtocolNumber
		switch pkt[0] >> 4 {
		case 4:
			proto = header.IPv4ProtocolNumber
		case 6:
			proto = header.IPv6ProtocolNumber
		default:
			continue
		}
		pb := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(pkt)})
		d.ep.InjectInbound(proto, pb)
		pb.DecRef()
	}
	return len(bufs), nil
}

// MTU returns the interface MTU.
func (d *Device) MTU() (int, error) { return d.mtu, nil }

// Name returns the name given in Options.
func (d *Device) Name() (string, error) { return d.name, nil }

// Events reports EventUp once; it is closed by Close.
func (d *Device) Events() <-chan tun.Event { return d.events }

// BatchSize is the most packets one Read returns.
func (d *Device) BatchSize() int { return batchSize }

// Close tears the stack down: every connection on it is reset, blocked
// Reads return, and the stack's goroutines have stopped when it returns.
// It is safe to call more than once.
func (d *Device) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		close(d.closed)
		d.mu.Unlock()
		d.ep.RemoveNotify(d.notify)
		d.stack.RemoveNIC(nicID)
		d.stack.Close()
		d.stack.Wait()
		d.ep.Close()
		close(d.events)
	})
	return nil
}

// fullAddr converts ap for the stack; an unspecified address means any.
func fullAddr(ap netip.AddrPort) tcpip.FullAddress {
	fa := tcpip.FullAddress{NIC: nicID, Port: ap.Port()}
	if a := ap.Addr().Unmap(); a.IsValid() && !a.IsUnspecified() {
		fa.Addr = tcpip.AddrFromSlice(a.AsSlice())
	}
	return fa
}

// DialTCP opens a TCP connection from the stack to dst.
func (d *Device) DialTCP(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if !dst.Addr().IsValid() {
		return nil, fmt.Errorf("netstack: dial tcp %v: invalid address", dst)
	}
	c, err := gonet.DialContextTCP(ctx, d.stack, fullAddr(dst), protocol(dst.Addr()))
	if err != nil {
		// gonet reports the stack's errors as text; a refusal matters to
		// callers (a SOCKS reply code), so give it its errno.
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil && op.Err.Error() == refusedText {
			op.Err = syscall.ECONNREFUSED
		}
		return nil, fmt.Errorf("netstack: dial tcp %v: %w", dst, err)
	}
	return c, nil
}

// refusedText is gVisor's tcpip.ErrConnectionRefused as gonet reports it
// (checked by TestRefusedText).
const refusedText = "connection was refused"

// ListenTCP listens on the stack at addr; an unspecified address listens
// on every address of its family (IPv4 if addr is invalid).
func (d *Device) ListenTCP(addr netip.AddrPort) (net.Listener, error) {
	a := addr.Addr().Unmap()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	l, err := gonet.ListenTCP(d.stack, fullAddr(addr), protocol(a))
	if err != nil {
		return nil, fmt.Errorf("netstack: listen tcp %v: %w", addr, err)
	}
	return l, nil
}

// DialUDP returns a UDP socket on the stack connected to dst.
func (d *Device) DialUDP(dst netip.AddrPort) (net.Conn, error) {
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if !dst.Addr().IsValid() {
		return nil, fmt.Errorf("netstack: dial udp %v: invalid address", dst)
	}
	rfa := fullAddr(dst)
	c, err := gonet.DialUDP(d.stack, nil, &rfa, protocol(dst.Addr()))
	if err != nil {
		return nil, fmt.Errorf("netstack: dial udp %v: %w", dst, err)
	}
	return c, nil
}

// ListenUDP returns an unconnected UDP socket on the stack bound to addr;
// an unspecified address binds every address of its family (IPv4 if addr
// is invalid), port 0 picks one.
func (d *Device) ListenUDP(addr netip.AddrPort) (net.PacketConn, error) {
	a := addr.Addr().Unmap()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	lfa := fullAddr(addr)
	c, err := gonet.DialUDP(d.stack, &lfa, nil, protocol(a))
	if err != nil {
		return nil, fmt.Errorf("netstack: listen udp %v: %w", addr, err)
	}
	return c, nil
}

// DialContext dials "tcp", "tcp4", "tcp6", "udp", "udp4" or "udp6" to an
// "ip:port" address on the stack, as net.Dialer.DialContext does; host
// names are not resolved here (see Resolver).
func (d *Device) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, fmt.Errorf("netstack: dial %s %s: %w", network, address, err)
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
		return d.DialTCP(ctx, ap)
	case "udp", "udp4", "udp6":
		return d.DialUDP(ap)
	}
	return nil, fmt.Errorf("netstack: dial %s %s: %w", network, address, net.UnknownNetworkError(network))
}
