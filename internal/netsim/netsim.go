// Package netsim is an in-memory UDP network for tests: Binds (implementing
// bind.Bind) registered at addresses of a simulated Network exchange
// datagrams with no system calls, and the Network can lose, duplicate,
// reorder and delay them, and translate addresses (NAT) or move a Bind to a
// new address to simulate roaming. Randomness comes from a seeded source, so
// a run is reproducible given the same sequence of sends.
//
// It owns only the simulation; it imports internal/bind (the interface it
// implements), internal/clock (whose time drives delays) and the standard
// library, nothing else of this module.
package netsim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/clock"
)

// Defaults for Options left zero.
const (
	DefaultQueueLen  = 1024
	DefaultBatchSize = 64
	// DefaultReorderTimeout is how long a held-back packet waits for a
	// later one to overtake it before it is delivered anyway.
	DefaultReorderTimeout = 5 * time.Millisecond
)

// Errors, matchable with errors.Is.
var (
	// ErrAddrInUse wraps syscall.EADDRINUSE.
	ErrAddrInUse = fmt.Errorf("netsim: address in use: %w", syscall.EADDRINUSE)
	// ErrAlreadyOpen is returned by Open on an open Bind.
	ErrAlreadyOpen = errors.New("netsim: bind already open")
	// ErrNotOpen is returned by Send on a Bind that is not open.
	ErrNotOpen = fmt.Errorf("netsim: bind not open: %w", net.ErrClosed)
	// ErrBadAddr is returned by Open on a Bind whose address is invalid or
	// unspecified: every simulated socket has one concrete address.
	ErrBadAddr = errors.New("netsim: bind needs a concrete address")
	// ErrNoPorts is returned by Open(0) when every ephemeral port is taken.
	ErrNoPorts = fmt.Errorf("netsim: no free ephemeral port: %w", syscall.EADDRINUSE)
	// ErrClosed is returned by receive functions of a closed Bind. It
	// matches both bind.ErrClosed and net.ErrClosed.
	ErrClosed = fmt.Errorf("netsim: %w: %w", bind.ErrClosed, net.ErrClosed)
)

// Options configures a Network. The zero value is a lossless network with
// seed 0 and the default queue and batch sizes.
type Options struct {
	Seed      uint64 // seeds the random source for loss, duplication, reordering, jitter and ports
	QueueLen  int    // each socket's receive queue; datagrams beyond it are dropped
	BatchSize int    // each Bind's BatchSize

	// Initial values of the knobs; see the setters of the same names.
	Loss, Duplicate, Reorder float64
	Delay, Jitter            time.Duration
	ReorderTimeout           time.Duration
	NATTimeout               time.Duration

	// Clock times delays and the reorder timeout; nil is the wall clock.
	// With a clock.Manual, delayed datagrams arrive only as the test
	// advances it (at the latest when it passes their arrival time).
	Clock clock.Clock
}

// Network is a simulated UDP network. Its knobs may be changed at any time
// from any goroutine.
type Network struct {
	opts Options
	bufs sync.Pool // of *[]byte: datagram copies, recycled once received
	clk  clock.Clock

	mu      sync.Mutex
	rng     *rand.Rand
	sockets map[netip.AddrPort]*socket
	nat     map[netip.Addr]*natRule     // by inside address
	natOut  map[netip.AddrPort]*natRule // by outside address
	blocked map[[2]netip.Addr]bool      // unordered address pairs that cannot talk
	filter  Filter
	loss    float64
	dup     float64
	reorder float64
	delay   time.Duration
	jitter  time.Duration
	reorTO  time.Duration
	natTO   time.Duration
	maxSize int
	closed  bool
	total   Stats
}

type natRule struct {
	inside  netip.Addr
	outside netip.AddrPort
	// last is the inside address and port that last sent through the
	// rule; replies to outside go there. Unsolicited packets (before any
	// outbound one) are dropped, as by a real NAT.
	last netip.AddrPort
	// lastOut is when a datagram last went out through the rule.
	lastOut time.Time
}

// New returns a Network configured by opts.
func New(opts Options) *Network {
	if opts.QueueLen <= 0 {
		opts.QueueLen = DefaultQueueLen
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.ReorderTimeout <= 0 {
		opts.ReorderTimeout = DefaultReorderTimeout
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	return &Network{
		opts:    opts,
		clk:     opts.Clock,
		rng:     rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		sockets: make(map[netip.AddrPort]*socket),
		nat:     make(map[netip.Addr]*natRule),
		natOut:  make(map[netip.AddrPort]*natRule),
		blocked: make(map[[2]netip.Addr]bool),
		loss:    opts.Loss,
		dup:     opts.Duplicate,
		reorder: opts.Reorder,
		delay:   opts.Delay,
		jitter:  opts.Jitter,
		reorTO:  opts.ReorderTimeout,
		natTO:   opts.NATTimeout,
	}
}

// SetLoss sets the probability that a datagram is lost.
func (n *Network) SetLoss(p float64) { n.mu.Lock(); n.loss = p; n.mu.Unlock() }

// SetDuplicate sets the probability that a datagram is delivered twice.
func (n *Network) SetDuplicate(p float64) { n.mu.Lock(); n.dup = p; n.mu.Unlock() }

// SetReorder sets the probability that a datagram is held back and
// delivered after the next one to the same socket (or after the reorder
// timeout if none comes).
func (n *Network) SetReorder(p float64) { n.mu.Lock(); n.reorder = p; n.mu.Unlock() }

// SetDelay delays every datagram by d plus a uniformly random extra in
// [0, jitter). Jitter reorders datagrams as a side effect. Zero for both
// delivers synchronously within Send.
func (n *Network) SetDelay(d, jitter time.Duration) {
	n.mu.Lock()
	n.delay, n.jitter = d, jitter
	n.mu.Unlock()
}

// Filter decides whether the network carries a datagram (true) or drops it
// (false, counted as Filtered). src is the sending socket's address and dst
// the destination it addressed, both before NAT. data is the sender's
// buffer: read it, never keep or modify it. A Filter runs on the sending
// goroutine, outside the Network's lock, so it may call the Network's
// methods (e.g. change a knob after the first handshake), and must be safe
// for concurrent use if several goroutines send.
type Filter func(src, dst netip.AddrPort, data []byte) bool

// SetFilter installs f, replacing any previous Filter; nil removes it. A
// Filter that always returns true is a tap that sees every datagram.
func (n *Network) SetFilter(f Filter) { n.mu.Lock(); n.filter = f; n.mu.Unlock() }

// SetMaxDatagram drops (counting TooBig) datagrams longer than size bytes,
// as a path whose MTU is too small and whose fragments are lost (a PMTU
// black hole). Zero, the default, carries any size.
func (n *Network) SetMaxDatagram(size int) { n.mu.Lock(); n.maxSize = size; n.mu.Unlock() }

// SetBlocked cuts (true) or restores (false) the path between a and b, in
// both directions: datagrams between them are dropped and counted as lost.
func (n *Network) SetBlocked(a, b netip.Addr, blocked bool) {
	k := pairKey(a, b)
	n.mu.Lock()
	if blocked {
		n.blocked[k] = true
	} else {
		delete(n.blocked, k)
	}
	n.mu.Unlock()
}

func pairKey(a, b netip.Addr) [2]netip.Addr {
	if b.Less(a) {
		a, b = b, a
	}
	return [2]netip.Addr{a, b}
}

// SetNAT puts inside behind a NAT whose public address is outside: the
// source of datagrams sent from inside (any port) is rewritten to outside,
// and datagrams to outside are delivered to the inside address and port
// that last sent through it. Calling it again with a new outside simulates
// the NAT rebinding (the peer appears to roam); the old mapping is gone.
func (n *Network) SetNAT(inside netip.Addr, outside netip.AddrPort) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if old := n.nat[inside]; old != nil {
		delete(n.natOut, old.outside)
	}
	if other := n.natOut[outside]; other != nil {
		delete(n.nat, other.inside)
	}
	r := &natRule{inside: inside, outside: outside}
	n.nat[inside] = r
	n.natOut[outside] = r
}

// SetNATTimeout makes every NAT forget its mapping after d without an
// outbound datagram (as real NATs do, which is what persistent keepalives
// are for): replies then are dropped until inside sends again. Zero, the
// default, keeps mappings forever.
func (n *Network) SetNATTimeout(d time.Duration) { n.mu.Lock(); n.natTO = d; n.mu.Unlock() }

// ClearNAT removes inside's NAT mapping.
func (n *Network) ClearNAT(inside netip.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r := n.nat[inside]; r != nil {
		delete(n.natOut, r.outside)
		delete(n.nat, inside)
	}
}

// Stats returns counters summed over the whole network.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.total
}

// Close closes every Bind, dropping datagrams still in flight.
func (n *Network) Close() error {
	n.mu.Lock()
	n.closed = true
	socks := make([]*socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		socks = append(socks, s)
	}
	n.mu.Unlock()
	for _, s := range socks {
		s.b.Close()
	}
	return nil
}

// Stats counts datagrams. For a Bind, Sent, Lost, NoRoute and Duplicated
// count datagrams it sent; Received and Overflow count datagrams sent to it.
type Stats struct {
	Sent       uint64 // handed to Send
	Received   uint64 // queued for a receive function (duplicates included)
	Lost       uint64 // dropped by the Loss knob or a blocked path
	Filtered   uint64 // dropped by the Filter
	TooBig     uint64 // dropped for exceeding SetMaxDatagram
	NoRoute    uint64 // dropped because no socket was bound at the destination
	Overflow   uint64 // dropped because the receiver's queue was full
	Duplicated uint64 // extra copies made by the Duplicate knob
	Reordered  uint64 // held back by the Reorder knob
}

// datagram is one datagram in flight.
type datagram struct {
	data []byte
	src  netip.AddrPort // as seen by the receiver (after NAT)
}

// socket is one Open of a Bind: a registered address and a receive queue.
type socket struct {
	b     *Bind
	addr  netip.AddrPort // guarded by Network.mu
	queue chan datagram
	done  chan struct{}
	once  sync.Once

	// Guarded by Network.mu: a datagram held back for reordering, and
	// datagrams delayed in flight, ordered by arrival time.
	held        *datagram
	heldTimer   clock.Timer
	inflight    []inflight
	flightTimer clock.Timer
}

type inflight struct {
	at time.Time
	d  datagram
}

func (s *socket) close() { s.once.Do(func() { close(s.done) }) }

// allocPortLocked picks a free ephemeral port on addr.
func (n *Network) allocPortLocked(addr netip.Addr) (uint16, error) {
	const lo, hi = 49152, 65535
	start := lo + n.rng.IntN(hi-lo+1)
	for i := range hi - lo + 1 {
		p := uint16(lo + (start-lo+i)%(hi-lo+1))
		if _, taken := n.sockets[netip.AddrPortFrom(addr, p)]; !taken {
			return p, nil
		}
	}
	return 0, ErrNoPorts
}

// send routes one datagram from s to dst. It holds n.mu throughout except
// when handing the datagram to the receive queue.
func (n *Network) send(s *socket, data []byte, dst netip.AddrPort) {
	n.mu.Lock()
	f, src := n.filter, s.addr
	n.mu.Unlock()
	pass := f == nil || f(src, dst, data)

	n.mu.Lock()
	defer n.mu.Unlock()
	b := s.b
	src = s.addr
	n.total.Sent++
	b.stats.Sent++
	if !pass {
		n.total.Filtered++
		b.stats.Filtered++
		return
	}
	if n.closed {
		n.total.NoRoute++
		b.stats.NoRoute++
		return
	}
	if n.maxSize > 0 && len(data) > n.maxSize {
		n.total.TooBig++
		b.stats.TooBig++
		return
	}
	// Source NAT.
	if r := n.nat[src.Addr()]; r != nil {
		r.last = src
		r.lastOut = n.clk.Now()
		src = r.outside
	}
	// Destination NAT (replies to a NAT's outside address).
	if r := n.natOut[dst]; r != nil {
		if !r.last.IsValid() || (n.natTO > 0 && n.clk.Now().Sub(r.lastOut) > n.natTO) {
			n.total.NoRoute++
			b.stats.NoRoute++
			return
		}
		dst = r.last
	}
	if n.blocked[pairKey(src.Addr(), dst.Addr())] || n.blocked[pairKey(s.addr.Addr(), dst.Addr())] ||
		(n.loss > 0 && n.rng.Float64() < n.loss) {
		n.total.Lost++
		b.stats.Lost++
		return
	}
	to := n.sockets[dst]
	if to == nil {
		n.total.NoRoute++
		b.stats.NoRoute++
		return
	}
	copies := 1
	if n.dup > 0 && n.rng.Float64() < n.dup {
		copies = 2
		n.total.Duplicated++
		b.stats.Duplicated++
	}
	for range copies {
		d := datagram{data: n.copyData(data), src: src}
		if n.delay > 0 || n.jitter > 0 {
			wait := n.delay
			if n.jitter > 0 {
				wait += time.Duration(n.rng.Int64N(int64(n.jitter)))
			}
			n.delayLocked(to, d, wait)
			continue
		}
		n.arriveLocked(to, d)
	}
}

// delayLocked puts d in flight to s for wait. Datagrams to one socket
// arrive in order of their arrival times, and in sending order among equal
// times, so a constant delay never reorders.
func (n *Network) delayLocked(s *socket, d datagram, wait time.Duration) {
	at := n.clk.Now().Add(wait)
	i := sort.Search(len(s.inflight), func(i int) bool { return s.inflight[i].at.After(at) })
	s.inflight = slices.Insert(s.inflight, i, inflight{at: at, d: d})
	if i == 0 {
		if s.flightTimer == nil {
			s.flightTimer = n.clk.AfterFunc(wait, func() { n.land(s) })
		} else {
			s.flightTimer.Reset(wait)
		}
	}
}

// land delivers the datagrams in flight to s whose time has come.
func (n *Network) land(s *socket) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.clk.Now()
	due := 0
	for due < len(s.inflight) && !s.inflight[due].at.After(now) {
		due++
	}
	for _, f := range s.inflight[:due] {
		n.arriveLocked(s, f.d)
	}
	s.inflight = slices.Delete(s.inflight, 0, due)
	if len(s.inflight) > 0 {
		s.flightTimer.Reset(s.inflight[0].at.Sub(now))
	}
}

// copyData returns a copy of data in a recycled buffer.
func (n *Network) copyData(data []byte) []byte {
	if p, ok := n.bufs.Get().(*[]byte); ok && cap(*p) >= len(data) {
		return append((*p)[:0], data...)
	}
	return append(make([]byte, 0, max(len(data), 2048)), data...)
}

// recycle returns a buffer from copyData once its datagram is received.
func (n *Network) recycle(b []byte) {
	b = b[:0]
	n.bufs.Put(&b)
}

// arriveLocked applies the Reorder knob and queues d at to.
func (n *Network) arriveLocked(to *socket, d datagram) {
	if to.held == nil && n.reorder > 0 && n.rng.Float64() < n.reorder {
		n.total.Reordered++
		to.b.stats.Reordered++ // counted at the receiver: the sender may be gone
		held := &d
		to.held = held
		to.heldTimer = n.clk.AfterFunc(n.reorTO, func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			if to.held == held { // not released (and replaced) meanwhile
				to.held = nil
				n.enqueueLocked(to, *held)
			}
		})
		return
	}
	n.enqueueLocked(to, d)
	if h := to.held; h != nil {
		to.held = nil
		to.heldTimer.Stop()
		n.enqueueLocked(to, *h)
	}
}

func (n *Network) enqueueLocked(to *socket, d datagram) {
	select {
	case <-to.done:
		n.total.NoRoute++
		return
	default:
	}
	select {
	case to.queue <- d:
		n.total.Received++
		to.b.stats.Received++
	default:
		n.total.Overflow++
		to.b.stats.Overflow++
	}
}

// NewBind returns a Bind that will live at addr once opened.
func (n *Network) NewBind(addr netip.Addr) *Bind {
	return &Bind{net: n, addr: addr.Unmap()}
}

// Bind is a simulated UDP socket implementing bind.Bind. One socket carries
// both address families, like the reference's Bind: it is registered at a
// single address, and may send to any.
type Bind struct {
	net *Network

	// guarded by net.mu
	addr  netip.Addr
	sock  *socket
	mark  uint32
	stats Stats
}

var _ bind.Bind = (*Bind)(nil)

// Open implements bind.Bind: it registers the Bind at its address and port
// (0 allocates a free one) and returns one receive function.
func (b *Bind) Open(port uint16) ([]bind.ReceiveFunc, uint16, error) {
	n := b.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if !b.addr.IsValid() || b.addr.IsUnspecified() {
		return nil, 0, fmt.Errorf("netsim: open: %w: %v", ErrBadAddr, b.addr)
	}
	if n.closed {
		return nil, 0, fmt.Errorf("netsim: open %v: network closed: %w", b.addr, net.ErrClosed)
	}
	if b.sock != nil {
		return nil, 0, fmt.Errorf("netsim: open %v: %w", b.sock.addr, ErrAlreadyOpen)
	}
	if port == 0 {
		p, err := n.allocPortLocked(b.addr)
		if err != nil {
			return nil, 0, fmt.Errorf("netsim: open %v: %w", b.addr, err)
		}
		port = p
	}
	ap := netip.AddrPortFrom(b.addr, port)
	if _, taken := n.sockets[ap]; taken {
		return nil, 0, fmt.Errorf("netsim: open %v: %w", ap, ErrAddrInUse)
	}
	s := &socket{
		b:     b,
		addr:  ap,
		queue: make(chan datagram, n.opts.QueueLen),
		done:  make(chan struct{}),
	}
	n.sockets[ap] = s
	b.sock = s
	return []bind.ReceiveFunc{s.receive}, port, nil
}

// receive is the socket's bind.ReceiveFunc.
func (s *socket) receive(bufs [][]byte, sizes []int, eps []bind.Endpoint) (int, error) {
	if len(bufs) == 0 {
		return 0, nil
	}
	var d datagram
	select {
	case <-s.done:
		return 0, ErrClosed
	case d = <-s.queue:
	}
	local := s.localAddr()
	i := 0
	for {
		sizes[i] = copy(bufs[i], d.data)
		s.b.net.recycle(d.data)
		eps[i] = &Endpoint{dst: d.src, src: local}
		i++
		if i == len(bufs) {
			return i, nil
		}
		select {
		case d = <-s.queue:
		default:
			return i, nil
		}
	}
}

func (s *socket) localAddr() netip.Addr {
	s.b.net.mu.Lock()
	defer s.b.net.mu.Unlock()
	return s.addr.Addr()
}

// Close implements bind.Bind: it unregisters the Bind; its receive
// functions return ErrClosed. The Bind may be opened again.
func (b *Bind) Close() error {
	n := b.net
	n.mu.Lock()
	s := b.sock
	b.sock = nil
	if s != nil {
		if n.sockets[s.addr] == s {
			delete(n.sockets, s.addr)
		}
		if s.heldTimer != nil {
			s.heldTimer.Stop()
		}
		s.held = nil
		if s.flightTimer != nil {
			s.flightTimer.Stop()
		}
		s.inflight = nil
	}
	n.mu.Unlock()
	if s != nil {
		s.close()
	}
	return nil
}

// SetMark implements bind.Bind by recording mark; see Mark.
func (b *Bind) SetMark(mark uint32) error {
	b.net.mu.Lock()
	b.mark = mark
	b.net.mu.Unlock()
	return nil
}

// Mark returns the mark last set by SetMark.
func (b *Bind) Mark() uint32 {
	b.net.mu.Lock()
	defer b.net.mu.Unlock()
	return b.mark
}

// Send implements bind.Bind: it sends a copy of each of bufs to ep's
// destination. Like UDP, undeliverable datagrams vanish without error.
func (b *Bind) Send(bufs [][]byte, ep bind.Endpoint) error {
	b.net.mu.Lock()
	s := b.sock
	b.net.mu.Unlock()
	if s == nil {
		return fmt.Errorf("netsim: send from %v: %w", b.addr, ErrNotOpen)
	}
	dst := ep.DstAddrPort()
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	for _, data := range bufs {
		n := b.net
		n.send(s, data, dst)
	}
	return nil
}

// ParseEndpoint implements bind.Bind.
func (b *Bind) ParseEndpoint(s string) (bind.Endpoint, error) {
	return ParseEndpoint(s)
}

// BatchSize implements bind.Bind.
func (b *Bind) BatchSize() int { return b.net.opts.BatchSize }

// Addr returns the address the Bind lives at.
func (b *Bind) Addr() netip.Addr {
	b.net.mu.Lock()
	defer b.net.mu.Unlock()
	return b.addr
}

// LocalAddrPort returns the address and port the Bind is open at, or the
// zero AddrPort if it is closed.
func (b *Bind) LocalAddrPort() netip.AddrPort {
	b.net.mu.Lock()
	defer b.net.mu.Unlock()
	if b.sock == nil {
		return netip.AddrPort{}
	}
	return b.sock.addr
}

// Stats returns the Bind's counters (see Stats for which side counts what).
func (b *Bind) Stats() Stats {
	b.net.mu.Lock()
	defer b.net.mu.Unlock()
	return b.stats
}

// Move changes the Bind's address to addr, keeping its port if open (as a
// host that roams to a new network). Datagrams queued but not yet received
// stay queued. It fails wrapping syscall.EADDRINUSE if addr:port is taken.
func (b *Bind) Move(addr netip.Addr) error {
	addr = addr.Unmap()
	n := b.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if s := b.sock; s != nil {
		ap := netip.AddrPortFrom(addr, s.addr.Port())
		if other, taken := n.sockets[ap]; taken && other != s {
			return fmt.Errorf("netsim: move to %v: %w", ap, ErrAddrInUse)
		}
		delete(n.sockets, s.addr)
		s.addr = ap
		n.sockets[ap] = s
	}
	b.addr = addr
	return nil
}

// Endpoint is a netsim bind.Endpoint. Its methods are safe for concurrent
// use.
type Endpoint struct {
	dst netip.AddrPort

	mu  sync.Mutex
	src netip.Addr // the receiving Bind's address; cleared by ClearSrc
}

var _ bind.Endpoint = (*Endpoint)(nil)

// NewEndpoint returns an Endpoint for dst.
func NewEndpoint(dst netip.AddrPort) *Endpoint {
	return &Endpoint{dst: netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())}
}

// ParseEndpoint parses "ip:port" or "[ipv6]:port".
func ParseEndpoint(s string) (*Endpoint, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return nil, fmt.Errorf("netsim: parse endpoint %q: %w", s, err)
	}
	return NewEndpoint(ap), nil
}

// DstAddrPort implements bind.Endpoint.
func (e *Endpoint) DstAddrPort() netip.AddrPort { return e.dst }

// SrcAddr implements bind.Endpoint.
func (e *Endpoint) SrcAddr() netip.Addr {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.src
}

// ClearSrc implements bind.Endpoint.
func (e *Endpoint) ClearSrc() {
	e.mu.Lock()
	e.src = netip.Addr{}
	e.mu.Unlock()
}

// String implements bind.Endpoint.
func (e *Endpoint) String() string { return e.dst.String() }

// Pipe returns a new Network and two Binds on it, not yet opened, at
// 192.0.2.1 and 192.0.2.2 (TEST-NET-1): the shape most two-peer tests need.
func Pipe(opts Options) (n *Network, a, b *Bind) {
	n = New(opts)
	return n, n.NewBind(netip.AddrFrom4([4]byte{192, 0, 2, 1})), n.NewBind(netip.AddrFrom4([4]byte{192, 0, 2, 2}))
}
