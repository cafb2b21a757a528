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
	"github.com/warren-vpn/warren/internal/clock"
	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/netstack"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// DefaultDialTimeout bounds a connection through the tunnel to a peer that
// has a session: long enough for a slow destination, short enough that a
// silent one reaches the client as an error, not a hang.
const DefaultDialTimeout = 12 * time.Second

// DefaultHandshakeWait bounds how long a connection (its name lookup
// included) waits for a handshake with a peer that has no session. A peer
// that answers does so within a round trip of the engine's first
// initiation, and the engine's next try is REKEY_TIMEOUT (5 s) later:
// waiting longer would rarely help and would leave the client hanging.
const DefaultHandshakeWait = 3 * time.Second

// Tunnel is a WireGuard engine on a userspace stack: the rootless
// counterpart of an interface brought up by wg-quick.
type Tunnel struct {
	// Net is the stack; Dev the engine on it.
	Net *netstack.Device
	Dev *device.Device

	resolver      *netstack.Resolver
	dns           []netip.Addr
	dialTimeout   time.Duration
	handshakeWait time.Duration
	clock         clock.Clock
	initiations   *initiationLog
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
	// HandshakeWait bounds how long a connection waits for a handshake
	// with a peer that has no session; 0 means DefaultHandshakeWait.
	HandshakeWait time.Duration
	// Clock is the engine's clock and the one HandshakeWait is measured
	// on; nil is the real one. (Tests drive the engine's handshake
	// retries and the wait with a clock.Manual.)
	Clock clock.Clock
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
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	ns, err := netstack.New(netstack.Options{Addresses: addrs, MTU: f.Interface.MTU, Name: opts.Name})
	if err != nil {
		return nil, err
	}
	initiations := newInitiationLog(clk.Now)
	dev, err := device.New(ns, countingBind{Bind: bind.NewStd(), log: initiations}, device.Options{Logger: opts.Logger, Clock: clk})
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
		Net:           ns,
		Dev:           dev,
		dns:           slices.Clone(f.Interface.DNS),
		resolver:      ns.Resolver(f.Interface.DNS),
		dialTimeout:   opts.DialTimeout,
		handshakeWait: opts.HandshakeWait,
		clock:         clk,
		initiations:   initiations,
	}
	if t.dialTimeout == 0 {
		t.dialTimeout = DefaultDialTimeout
	}
	if t.handshakeWait == 0 {
		t.handshakeWait = DefaultHandshakeWait
	}
	return t, nil
}

// Close stops the engine and the stack; every connection through the
// tunnel ends.
func (t *Tunnel) Close() error { return t.Dev.Close() }

// Resolver resolves names through the tunnel's DNS servers only: no
// search domain of the host and no hosts file apply to them.
func (t *Tunnel) Resolver() *netstack.Resolver { return t.resolver }

// errNoFamily: a name resolved only to addresses of a family the stack
// does not have.
var errNoFamily = errors.New("no address of the tunnel's families")

// LookupAddr resolves host (an IP literal or a name, through the tunnel's
// DNS) to one address, preferring the families the stack has.
func (t *Tunnel) LookupAddr(ctx context.Context, host string) (netip.Addr, error) {
	a, err := t.lookup(ctx, host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %q: %w: %w", host, ErrResolve, err)
	}
	return a, nil
}

// lookup is LookupAddr with the resolver's own errors.
func (t *Tunnel) lookup(ctx context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	addrs, err := t.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
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
	return netip.Addr{}, errNoFamily
}

// DialContext connects through the tunnel to address ("host:port"; host
// may be a name, resolved through the tunnel's DNS) over "tcp" or "udp".
// It gives up after the dial timeout or, when the peer it needs (the
// destination's, or the DNS servers' for a name) has no session, after
// the handshake wait; failures are *DialError.
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
	waitUntil := t.clock.Now().Add(t.handshakeWait)
	a, err := netip.ParseAddr(host)
	if err != nil {
		if a, err = t.resolve(ctx, network, address, host, waitUntil); err != nil {
			return nil, err
		}
	}
	return t.dial(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(port)), waitUntil)
}

// DialAddr connects through the tunnel to dst over "tcp" or "udp", within
// the dial timeout and, if dst's peer has no session, the handshake wait.
func (t *Tunnel) DialAddr(ctx context.Context, network string, dst netip.AddrPort) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, t.dialTimeout)
	defer cancel()
	return t.dial(ctx, network, dst, t.clock.Now().Add(t.handshakeWait))
}

// resolve looks host up for a dial to address. If the lookup gets no
// answer and no DNS server's peer has a session, the DialError says so.
func (t *Tunnel) resolve(ctx context.Context, network, address, host string, waitUntil time.Time) (netip.Addr, error) {
	st := t.Dev.State()
	var peers []*wgtypes.Peer
	for _, s := range t.dns {
		if p, _ := peerFor(st, t.Net.Addresses(), s); p != nil {
			peers = append(peers, p)
		}
	}
	ctx, stop := t.awaitHandshake(ctx, peers, waitUntil)
	defer stop()
	a, err := t.lookup(ctx, host)
	if err == nil {
		return a, nil
	}
	de := &DialError{Network: network, Address: address, Reason: ErrResolve, Err: withoutLookup(err, host)}
	if errors.Is(err, netstack.ErrDNSServer) {
		de.DNSServer, de.Handshake = t.dnsHandshakeError()
	}
	return netip.Addr{}, de
}

// dial connects to dst, failing once waitUntil passes if dst's peer has
// no session by then.
func (t *Tunnel) dial(ctx context.Context, network string, dst netip.AddrPort, waitUntil time.Time) (net.Conn, error) {
	peer, local := peerFor(t.Dev.State(), t.Net.Addresses(), dst.Addr())
	if peer == nil && !local {
		return nil, &DialError{Network: network, Address: dst.String(), Reason: ErrNoRoute}
	}
	var c net.Conn
	var err error
	switch network {
	case "tcp", "tcp4", "tcp6":
		if peer != nil {
			var stop func()
			ctx, stop = t.awaitHandshake(ctx, []*wgtypes.Peer{peer}, waitUntil)
			defer stop()
		}
		c, err = t.Net.DialTCP(ctx, dst)
	case "udp", "udp4", "udp6":
		c, err = t.Net.DialUDP(dst) // nothing to wait for: no datagram is sent
	default:
		return nil, &DialError{Network: network, Address: dst.String(), Reason: net.UnknownNetworkError(network)}
	}
	if err == nil {
		return c, nil
	}
	de := &DialError{Network: network, Address: dst.String(), Err: innermost(err)}
	if peer != nil {
		de.Peer = peer.PublicKey.String()
		if peer.Endpoint.IsValid() {
			de.Endpoint = peer.Endpoint.String()
		}
	}
	// A refusal proves the path works; otherwise blame the handshake if
	// the peer has no session.
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		de.Reason = ErrRefused
	case peer != nil:
		de.Reason = ErrTimeout
		if hs := t.handshakeError(peer.PublicKey.String()); hs != nil {
			de.Reason, de.Handshake = ErrNoHandshake, hs
		}
	default:
		de.Reason = ErrTimeout
	}
	return nil, de
}

// peerFor returns the peer of st that dst routes to, or local=true if dst
// is one of the stack's own addresses.
func peerFor(st *wgtypes.Device, own []netip.Addr, dst netip.Addr) (peer *wgtypes.Peer, local bool) {
	dst = dst.Unmap()
	if slices.Contains(own, dst) {
		return nil, true
	}
	best := -1
	for i := range st.Peers {
		for _, p := range st.Peers[i].AllowedIPs {
			if p.Contains(dst) && p.Bits() > best {
				best, peer = p.Bits(), &st.Peers[i]
			}
		}
	}
	return peer, false
}
