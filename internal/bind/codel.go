package bind

import (
	"math"
	"sync"
	"time"
)

// The receive queue's delay control. Under a load that the receiver's CPU
// cannot keep up with, transport data waits in the socket's receive buffer,
// which is large (socketBufferSize) so that bursts and handshake floods do
// not overflow it. A TCP flow through the tunnel fills whatever queue its
// bottleneck has, so that buffer would become a standing queue of several
// milliseconds that every packet (a call's, a game's) waits through. The
// kernel stamps each datagram with its arrival time (SO_TIMESTAMPNS) and
// the receiver applies CoDel (RFC 8289) to the time each one waited: while
// the queue's delay stays above queueTarget for longer than queueInterval,
// it drops transport data at the control law's rate, which tells the
// inner TCP flows to slow down, and it drops nothing while the delay is
// below target, so bursts pass. Handshake messages and keepalives are
// never dropped.
//
// It is off unless StdOptions.QueueControl asks for it: measured with
// scripts/bench.sh on two shared cores, the socket held about 1.7 ms of
// the 3 to 5 ms an RTT under load grew by (the rest waits in the sender's
// TUN queue and for a CPU), and dropping there did not shorten the RTT
// but lost pings.
//
// The constants are the explicit trade: a standing queue of about
// queueTarget on a CPU-bound receiver, against inner flows with round
// trips much longer than queueInterval slowing a little more than they
// would behind a deeper queue.
const (
	queueTarget   = time.Millisecond
	queueInterval = 10 * time.Millisecond
)

// codel is the CoDel state of one receive queue. Times are nanoseconds of
// the clock the arrival stamps use.
type codel struct {
	mu         sync.Mutex
	target     int64
	interval   int64
	firstAbove int64 // when the delay may first count as persistent; 0: below target
	dropNext   int64 // when the next drop is due while dropping
	count      int   // drops in this dropping state
	lastCount  int   // count when the last dropping state ended
	dropping   bool
	drops      uint64 // all drops, for tests and diagnostics
}

func newCodel(target, interval time.Duration) *codel {
	return &codel{target: int64(target), interval: int64(interval)}
}

// shouldDrop reports whether the datagram dequeued at now after waiting
// sojourn (both in ns) is to be dropped. The caller holds c.mu.
func (c *codel) shouldDrop(now, sojourn int64) bool {
	okToDrop := c.aboveTarget(now, sojourn)
	if c.dropping {
		switch {
		case !okToDrop:
			c.dropping = false
		case now >= c.dropNext:
			c.count++
			c.dropNext = c.controlLaw(c.dropNext)
			c.drops++
			return true
		}
		return false
	}
	if !okToDrop {
		return false
	}
	// Enter the dropping state; resume near the last drop rate if the
	// previous dropping state ended recently (RFC 8289 §5.5).
	c.dropping = true
	delta := c.count - c.lastCount
	if delta > 1 && now-c.dropNext < 16*c.interval {
		c.count = delta
	} else {
		c.count = 1
	}
	c.lastCount = c.count
	c.dropNext = c.controlLaw(now)
	c.drops++
	return true
}

// aboveTarget tracks whether the delay has stayed above target for an
// interval.
func (c *codel) aboveTarget(now, sojourn int64) bool {
	if sojourn < c.target {
		c.firstAbove = 0
		return false
	}
	if c.firstAbove == 0 {
		c.firstAbove = now + c.interval
		return false
	}
	return now >= c.firstAbove
}

// controlLaw: the next drop, interval/sqrt(count) after t.
func (c *codel) controlLaw(t int64) int64 {
	return t + int64(float64(c.interval)/math.Sqrt(float64(c.count)))
}

// isDroppableData reports whether a received datagram is transport data
// CoDel may drop: a transport message (type 4) longer than a keepalive.
func isDroppableData(msg []byte) bool {
	const keepaliveSize = 32 // transport header and tag, no payload
	return len(msg) > keepaliveSize && msg[0] == 4 && msg[1] == 0 && msg[2] == 0 && msg[3] == 0
}

// filter applies CoDel to a received batch at now: the i-th datagram,
// bufs[i][:sizes[i]], arrived at arrived[i] (0: unknown, never dropped). A
// dropped datagram's size becomes 0, which receivers skip. It returns how
// many it dropped.
func (c *codel) filter(now int64, bufs [][]byte, sizes []int, arrived []int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for i, at := range arrived {
		if at == 0 || !isDroppableData(bufs[i][:sizes[i]]) {
			continue
		}
		if c.shouldDrop(now, max(0, now-at)) {
			sizes[i] = 0
			n++
		}
	}
	return n
}
