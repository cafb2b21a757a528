package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/netstack"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// DefaultDialTimeout bounds a connection through the tunnel: long enough
// for a second handshake attempt (REKEY_TIMEOUT is 5 s), short enough that
// a dead peer reaches the client as an error, not a hang.
const DefaultDialTimeout = 12 * time.Second

// handshakeStale is how old a handshake may be before the peer counts as
// unreachable when a connection fails (REJECT_AFTER_TIME).
const handshakeStale = 180 * time.Second

// Reasons a connection through the tunnel fails; DialError wraps one.
var (
	// ErrNoRoute: no peer's AllowedIPs cover the destination.
	ErrNoRoute = errors.New("no peer's AllowedIPs cover the destination")
	// ErrNoHandshake: the peer for the destination has not completed a
	// handshake recently (down, wrong key, or endpoint unreachable).
	ErrNoHandshake = errors.New("handshake with the peer has not completed")
	// ErrRefused: the destination answered with a reset.
	ErrRefused = errors.New("connection refused")
	// ErrTimeout: the tunnel is up but the destination did not answer.
	ErrTimeout = errors.New("connection timed out")
	// ErrResolve: the name could not be resolved through the tunnel's DNS.
	ErrResolve = errors.New("name not resolved")
)

// DialError says why a connection through the tunnel failed, naming the
// peer when there is one. errors.Is matches its Reason.
type DialError struct {
	Network, Address string
	// Peer is the public key (base64) of the peer the destination routes
	// to, "" if none; Endpoint is that peer's endpoint, if known.
	Peer, Endpoint string
	Reason         error // one of ErrNoRoute, ErrNoHandshake, ...
	Err            error // the underlying error, if any
}

func (e *DialError) Error() string {
	s := fmt.Sprintf("dial %s %s: %v", e.Network, e.Address, e.Reason)
	if e.Peer != "" {
		s += " (peer " + e.Peer
		if e.Endpoint != "" {
			s += " at " + e.Endpoint
		}
		s += ")"
	}
	if e.Err != nil && !errors.Is(e.Err, e.Reason) {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *DialError) Unwrap() []error { return []error{e.Reason, e.Err} }

// Public is what a client of the proxy may be told: the destination it
// asked for and the reason, never the peer's public key or real endpoint
// (Error, for the operator's log, names them).
func (e *DialError) Public() string {
	return fmt.Sprintf("dial %s %s: %v", e.Network, e.Address, e.Reason)
}

// clientReason turns an error from the tunnel into text for a client of
// the proxy: a DialError's Public form, or a generic reason. The details
// belong in the log.
func clientReason(err error) string {
	var de *DialError
	var ne net.Error
	switch {
	case errors.As(err, &de):
		return de.Public()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "the connection through the tunnel timed out"
	}
	return "the connection through the tunnel failed"
}

// Tunnel is a WireGuard engine on a userspace stack: the rootless
// counterpart of an interface brought up by wg-quick.
type Tunnel struct {
	// Net is the stack; Dev the engine on it.
	Net *netstack.Device
	Dev *device.Device

	resolver    *netstack.Resolver
	dns         []netip.Addr
	dialTimeout time.Duration
}

// TunnelOptions configure OpenTunnel.
type TunnelOptions struct {
	// Name is the interface name reported by the stack.
	Name string
	// Logger receives the engine's log; nil is silent.
	Logger *device.Logger
	// Resolver resolves peer endpoints; nil resolves without retries.
	Resolver *conf.Resolver
	// DialTimeout bounds connections through the tunnel; 0 means
	// DefaultDialTimeout.
	DialTimeout time.Duration
}

// OpenTunnel starts an engine on a new userspace stack, configured from f
// (parsed with wg-quick's keys): Address gives the stack's addresses, MTU
// its MTU, DNS the resolvers used for names, and the rest configures the
// engine as wg setconf would. The engine listens on real UDP.
func OpenTunnel(ctx context.Context, f *conf.File, opts TunnelOptions) (*Tunnel, error) {
	if len(f.Interface.Addresses) == 0 {
		return nil, errors.New("the configuration has no Address: the userspace stack needs one")
	}
	addrs := make([]netip.Addr, 0, len(f.Interface.Addresses))
	for _, p := range f.Interface.Addresses {
		addrs = append(addrs, p.Addr())
	}
	cfg, err := f.WireGuardConfig(ctx, opts.Resolver, true)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	ns, err := netstack.New(netstack.Options{Addresses: addrs, MTU: f.Interface.MTU, Name: opts.Name})
	if err != nil {
		return nil, err
	}
	dev, err := device.New(ns, bind.NewStd(), device.Options{Logger: opts.Logger})
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("start engine: %w", err)
	}
	if err := dev.Apply(cfg); err != nil {
		dev.Close()
		return nil, fmt.Errorf("configure engine: %w", err)
	}
	if err := dev.Up(); err != nil {
		dev.Close()
		return nil, fmt.Errorf("bring engine up: %w", err)
	}
	t := &Tunnel{
		Net:         ns,
		Dev:         dev,
		dns:         slices.Clone(f.Interface.DNS),
		resolver:    ns.Resolver(f.Interface.DNS),
		dialTimeout: opts.DialTimeout,
	}
	if t.dialTimeout == 0 {
		t.dialTimeout = DefaultDialTimeout
	}
	return t, nil
}

// Close stops the engine and the stack; every connection through the
// tunnel ends.
func (t *Tunnel) Close() error { return t.Dev.Close() }

// Resolver resolves names through the tunnel's DNS servers only: no
// search domain of the host and no hosts file apply to them.
func (t *Tunnel) Resolver() *netstack.Resolver { return t.resolver }

// LookupAddr resolves host (an IP literal or a name, through the tunnel's
// DNS) to one address, preferring the families the stack has.
func (t *Tunnel) LookupAddr(ctx context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	if len(t.dns) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %q: %w: %w", host, ErrResolve, netstack.ErrNoDNS)
	}
	addrs, err := t.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %q: %w: %w", host, ErrResolve, err)
	}
	var v4, v6 bool
	for _, a := range t.Net.Addresses() {
		v4, v6 = v4 || a.Is4(), v6 || a.Is6()
	}
	for _, a := range addrs {
		if a = a.Unmap(); (a.Is4() && v4) || (a.Is6() && v6) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("resolve %q: %w: no address of the tunnel's families", host, ErrResolve)
}

// DialContext connects through the tunnel to address ("host:port"; host
// may be a name, resolved through the tunnel's DNS) over "tcp" or "udp".
// It gives up after the dial timeout; failures are *DialError.
func (t *Tunnel) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, &DialError{Network: network, Address: address, Reason: ErrResolve, Err: err}
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, &DialError{Network: network, Address: address, Reason: ErrResolve, Err: fmt.Errorf("bad port %q", portText)}
	}
	ctx, cancel := context.WithTimeout(ctx, t.dialTimeout)
	defer cancel()
	a, err := t.LookupAddr(ctx, host)
	if err != nil {
		return nil, &DialError{Network: network, Address: address, Reason: ErrResolve, Err: err}
	}
	return t.DialAddr(ctx, network, netip.AddrPortFrom(a, uint16(port)))
}

// DialAddr connects through the tunnel to dst over "tcp" or "udp".
func (t *Tunnel) DialAddr(ctx context.Context, network string, dst netip.AddrPort) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, t.dialTimeout)
	defer cancel()
	peer, local := t.peerFor(dst.Addr())
	if peer == nil && !local {
		return nil, &DialError{Network: network, Address: dst.String(), Reason: ErrNoRoute}
	}
	var c net.Conn
	var err error
	switch network {
	case "tcp", "tcp4", "tcp6":
		c, err = t.Net.DialTCP(ctx, dst)
	case "udp", "udp4", "udp6":
		c, err = t.Net.DialUDP(dst)
	default:
		return nil, &DialError{Network: network, Address: dst.String(), Reason: net.UnknownNetworkError(network)}
	}
	if err == nil {
		return c, nil
	}
	de := &DialError{Network: network, Address: dst.String(), Err: err}
	if peer != nil {
		de.Peer = peer.PublicKey.String()
		if peer.Endpoint.IsValid() {
			de.Endpoint = peer.Endpoint.String()
		}
	}
	// A refusal proves the path works; otherwise blame the handshake if
	// there has been none lately.
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		de.Reason = ErrRefused
	case peer != nil && (peer.LastHandshakeTime.IsZero() || time.Since(peer.LastHandshakeTime) > handshakeStale):
		de.Reason = ErrNoHandshake
	default:
		de.Reason = ErrTimeout
	}
	return nil, de
}

// peerFor returns the peer dst routes to, or local=true if dst is the
// stack's own address.
func (t *Tunnel) peerFor(dst netip.Addr) (peer *wgtypes.Peer, local bool) {
	dst = dst.Unmap()
	if slices.Contains(t.Net.Addresses(), dst) {
		return nil, true
	}
	best := -1
	st := t.Dev.State()
	for i := range st.Peers {
		for _, p := range st.Peers[i].AllowedIPs {
			if p.Contains(dst) && p.Bits() > best {
				best, peer = p.Bits(), &st.Peers[i]
			}
		}
	}
	return peer, false
}
