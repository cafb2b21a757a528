package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Limits cap what the proxy holds on behalf of its clients, so that a
// flood of connections or datagrams — from a local program, from anyone
// who can reach a listener, or from a tunnel peer through a reverse
// forward — cannot exhaust the host's file descriptors, goroutines or
// memory. Every cap counts across all the listeners that share a Limiter;
// "per source" counts one client address (on loopback every local
// program is the same source). A cap of 0 is no cap.
type Limits struct {
	// Conns caps the TCP connections held at once: clients of the SOCKS5
	// and HTTP proxies and of TCP forwards in either direction.
	// ConnsPerSource caps those of one address.
	Conns, ConnsPerSource int
	// UDPFlows caps the flows of UDP forwards (one per client address and
	// port); UDPFlowsPerSource those of one address.
	UDPFlows, UDPFlowsPerSource int
	// Associations caps SOCKS5 UDP associations; AssociationsPerSource
	// those of one address.
	Associations, AssociationsPerSource int
	// TCPIdle ends a relayed TCP connection after this long without a
	// byte in either direction; 0 never does.
	TCPIdle time.Duration
}

// DefaultLimits are the limits of `warren proxy` unless flags or the
// config's [Limits] section say otherwise: ample for one user's programs,
// small enough that a flood costs a few tens of MiB and file descriptors
// by the hundred.
func DefaultLimits() Limits {
	return Limits{
		Conns: 1024, ConnsPerSource: 256,
		UDPFlows: 512, UDPFlowsPerSource: 128,
		Associations: 128, AssociationsPerSource: 32,
		TCPIdle: time.Hour,
	}
}

// String describes the limits in one line, for the proxy's start-up
// message.
func (l Limits) String() string {
	count := func(n int) string {
		if n == 0 {
			return "no cap"
		}
		return strconv.Itoa(n)
	}
	idle := "never"
	if l.TCPIdle > 0 {
		idle = "after " + l.TCPIdle.String()
	}
	return fmt.Sprintf("TCP connections %s (%s per source), UDP flows %s (%s per source), UDP associations %s (%s per source), idle TCP relays end %s",
		count(l.Conns), count(l.ConnsPerSource), count(l.UDPFlows), count(l.UDPFlowsPerSource),
		count(l.Associations), count(l.AssociationsPerSource), idle)
}

// ErrLimits marks invalid Limits.
var ErrLimits = errors.New("invalid limits")

// Validate rejects negative caps and durations.
func (l Limits) Validate() error {
	for _, c := range []struct {
		name string
		v    int
	}{
		{"max-conns", l.Conns}, {"max-conns-per-source", l.ConnsPerSource},
		{"max-udp-flows", l.UDPFlows}, {"max-udp-flows-per-source", l.UDPFlowsPerSource},
		{"max-udp-assocs", l.Associations}, {"max-udp-assocs-per-source", l.AssociationsPerSource},
	} {
		if c.v < 0 {
			return fmt.Errorf("%w: %s is %d, must be 0 (no cap) or more", ErrLimits, c.name, c.v)
		}
	}
	if l.TCPIdle < 0 {
		return fmt.Errorf("%w: tcp-idle is %v, must be 0 (never) or more", ErrLimits, l.TCPIdle)
	}
	return nil
}

// ErrLimit is the error of a connection or association refused because a
// cap is reached and nothing held is idle enough to make room.
var ErrLimit = errors.New("proxy limit reached")

// evictMinIdle is how long a TCP connection or UDP association must have
// been silent before a newcomer may take its place: one that moved a byte
// within it is never cut. UDP flows are evicted however recent, as a NAT
// does: their clients get a new flow with their next datagram.
const evictMinIdle = time.Second

// limitLogEvery spaces the log lines about caps being reached, so that a
// flood cannot flood the log too.
const limitLogEvery = 10 * time.Second

// Limiter enforces Limits for every server that shares it: a cap that is
// reached makes room by ending the least recently active connection, flow
// or association (of the same source when the per-source cap is the one
// reached), or refuses the newcomer when everything held is active.
type Limiter struct {
	limits               Limits
	conns, flows, assocs *table
}

// NewLimiter returns a Limiter enforcing l; logf, if not nil, is told
// (at most every few seconds per kind) when caps are reached.
func NewLimiter(l Limits, logf func(format string, args ...any)) *Limiter {
	return &Limiter{
		limits: l,
		conns:  newTable("TCP connection", l.Conns, l.ConnsPerSource, evictMinIdle, logf),
		flows:  newTable("UDP flow", l.UDPFlows, l.UDPFlowsPerSource, 0, logf),
		assocs: newTable("UDP association", l.Associations, l.AssociationsPerSource, evictMinIdle, logf),
	}
}

// setClock makes the Limiter read time from now (tests).
func (l *Limiter) setClock(now func() time.Time) {
	for _, t := range []*table{l.conns, l.flows, l.assocs} {
		t.now = now
	}
}

// admitConn counts c against the connection caps and returns it wrapped
// so that its traffic marks it active and closing it frees its place; an
// eviction closes c.
func (l *Limiter) admitConn(c net.Conn) (*limitedConn, error) {
	s, err := l.conns.admit(addrOf(c.RemoteAddr()), func() { c.Close() })
	if err != nil {
		return nil, err
	}
	return &limitedConn{Conn: c, slot: s}, nil
}

// addrOf returns the IP of a TCP or UDP address (invalid for others).
func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// table holds the slots of one kind of thing the proxy keeps for clients.
type table struct {
	what           string
	max, perSource int
	minIdle        time.Duration
	now            func() time.Time
	logf           func(format string, args ...any)

	mu       sync.Mutex
	slots    map[*slot]struct{}
	bySource map[netip.Addr]int
	evicted  int // since the last log line
	refused  int
	lastLog  time.Time
}

func newTable(what string, max, perSource int, minIdle time.Duration, logf func(string, ...any)) *table {
	return &table{
		what: what, max: max, perSource: perSource, minIdle: minIdle, now: time.Now, logf: logf,
		slots: make(map[*slot]struct{}), bySource: make(map[netip.Addr]int),
	}
}

// slot is one connection, flow or association held in a table.
type slot struct {
	t      *table
	source netip.Addr
	last   atomic.Int64 // t.now() in Unix nanoseconds at the last activity
	end    func()       // ends the holder; called once, on eviction
	gone   bool         // released or evicted; guarded by t.mu
}

// admit takes a slot for a newcomer from source, making room by evicting
// the least recently active slot if a cap is reached; end is what
// eviction calls to end the newcomer later. It fails with ErrLimit when
// the cap is reached and nothing is idle enough to evict.
func (t *table) admit(source netip.Addr, end func()) (*slot, error) {
	now := t.now()
	var victim *slot
	var cap string
	t.mu.Lock()
	switch {
	case t.perSource > 0 && t.bySource[source] >= t.perSource:
		victim = t.lru(source, true)
		cap = fmt.Sprintf("per-source cap of %d (reached by %v)", t.perSource, source)
	case t.max > 0 && len(t.slots) >= t.max:
		victim = t.lru(source, false)
		cap = fmt.Sprintf("cap of %d", t.max)
	}
	var msg string
	if cap != "" {
		if victim == nil || now.Sub(time.Unix(0, victim.last.Load())) < t.minIdle {
			t.refused++
			msg = t.report(now, cap)
			t.mu.Unlock()
			if msg != "" && t.logf != nil {
				t.logf("%s", msg)
			}
			return nil, fmt.Errorf("%w: %s %s", ErrLimit, t.what, cap)
		}
		t.drop(victim)
		t.evicted++
		msg = t.report(now, cap)
	}
	s := &slot{t: t, source: source, end: end}
	s.last.Store(now.UnixNano())
	t.slots[s] = struct{}{}
	t.bySource[source]++
	t.mu.Unlock()
	if victim != nil {
		victim.end()
	}
	if msg != "" && t.logf != nil {
		t.logf("%s", msg)
	}
	return s, nil
}

// lru returns the least recently active slot, of source only if
// sameSource; nil if there is none.
func (t *table) lru(source netip.Addr, sameSource bool) *slot {
	var oldest *slot
	var at int64
	for s := range t.slots {
		if sameSource && s.source != source {
			continue
		}
		if last := s.last.Load(); oldest == nil || last < at {
			oldest, at = s, last
		}
	}
	return oldest
}

// drop removes s; t.mu is held.
func (t *table) drop(s *slot) {
	if s.gone {
		return
	}
	s.gone = true
	delete(t.slots, s)
	if t.bySource[s.source]--; t.bySource[s.source] <= 0 {
		delete(t.bySource, s.source)
	}
}

// report returns a log line about the cap, at most once per
// limitLogEvery; t.mu is held.
func (t *table) report(now time.Time, cap string) string {
	if !t.lastLog.IsZero() && now.Sub(t.lastLog) < limitLogEvery {
		return ""
	}
	msg := fmt.Sprintf("limits: %s %s: %d least recently active ended, %d newcomers refused", t.what, cap, t.evicted, t.refused)
	if !t.lastLog.IsZero() {
		msg += fmt.Sprintf(" in the last %v", now.Sub(t.lastLog).Round(time.Second))
	}
	t.lastLog, t.evicted, t.refused = now, 0, 0
	return msg
}

// held returns how many slots the table holds (tests).
func (t *table) held() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.slots)
}

// touch marks the slot active now.
func (s *slot) touch() { s.last.Store(s.t.now().UnixNano()) }

// release frees the slot; calling it again, or after an eviction, does
// nothing.
func (s *slot) release() {
	s.t.mu.Lock()
	s.t.drop(s)
	s.t.mu.Unlock()
}

// limitedConn is a connection held in the connection table: reading or
// writing a byte marks it active, closing it frees its place.
type limitedConn struct {
	net.Conn
	slot *slot
}

func (c *limitedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.slot.touch()
	}
	return n, err
}

func (c *limitedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.slot.touch()
	}
	return n, err
}

func (c *limitedConn) Close() error {
	c.slot.release()
	return c.Conn.Close()
}

// CloseWrite half-closes the connection if it can.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(closeWriter); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// SyscallConn exposes the socket, if there is one, so that the relay can
// wait for it to be readable without holding a buffer.
func (c *limitedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// limiterRef is a server's Limiter: the one it was given, or else its own
// with DefaultLimits, made on first use.
type limiterRef struct {
	once sync.Once
	lim  *Limiter
}

func (r *limiterRef) get(given *Limiter, logf func(format string, args ...any)) *Limiter {
	r.once.Do(func() {
		r.lim = given
		if r.lim == nil {
			r.lim = NewLimiter(DefaultLimits(), logf)
		}
	})
	return r.lim
}

// limitListener admits each accepted connection into a Limiter, closing
// those it refuses, for servers that run their own accept loop
// (net/http's).
type limitListener struct {
	net.Listener
	lim *Limiter
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc, err := l.lim.admitConn(c)
		if err != nil {
			c.Close()
			continue
		}
		return lc, nil
	}
}
