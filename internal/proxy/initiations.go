package proxy

import (
	"net/netip"
	"sync"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/wire"
)

// Bounds of an initiationLog. The engine sends at most one initiation to
// a peer per REKEY_TIMEOUT (5 s), so maxInitiations covers more than an
// hour of retries without a reply; maxEndpoints is far more peers than a
// proxy has.
const (
	maxInitiations = 1024
	maxEndpoints   = 256
)

// initiationLog records when the engine sent handshake initiations, per
// destination endpoint, so that a failed connection can say how many
// handshakes with its peer went unanswered. The engine's typed state
// (wgtypes.Peer) has the time of the last completed handshake but no
// count of attempts; this counts them where they leave, at the Bind.
type initiationLog struct {
	now func() time.Time

	mu  sync.Mutex
	eps map[netip.AddrPort]*initiations
}

// initiations are the send times to one endpoint, oldest first.
type initiations struct {
	times   []time.Time
	dropped bool  // older ones were forgotten (more than maxInitiations)
	lastErr error // the latest send's error, nil if it went out
}

func newInitiationLog(now func() time.Time) *initiationLog {
	return &initiationLog{now: now, eps: map[netip.AddrPort]*initiations{}}
}

// record notes n initiations sent to ep, and how the send went.
func (l *initiationLog) record(ep netip.AddrPort, n int, err error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	in := l.eps[ep]
	if in == nil {
		if len(l.eps) >= maxEndpoints {
			l.forgetOldestLocked()
		}
		in = &initiations{}
		l.eps[ep] = in
	}
	for range n {
		if len(in.times) == maxInitiations {
			in.times = append(in.times[:0], in.times[1:]...)
			in.dropped = true
		}
		in.times = append(in.times, now)
	}
	in.lastErr = err
}

// forgetOldestLocked drops the endpoint sent to least recently.
func (l *initiationLog) forgetOldestLocked() {
	var oldest netip.AddrPort
	var when time.Time
	for ep, in := range l.eps {
		if t := in.times[len(in.times)-1]; when.IsZero() || t.Before(when) {
			oldest, when = ep, t
		}
	}
	delete(l.eps, oldest)
}

// since reports how many initiations went to ep after t (a peer's last
// handshake; the zero Time counts them all), whether that is only a lower
// bound (older ones were forgotten), and the latest send's error. Those
// at or before t are forgotten: a peer's last handshake only moves on.
func (l *initiationLog) since(ep netip.AddrPort, t time.Time) (n int, atLeast bool, lastErr error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	in := l.eps[ep]
	if in == nil {
		return 0, false, nil
	}
	i := 0
	for i < len(in.times) && !in.times[i].After(t) {
		i++
	}
	if i > 0 {
		in.times = append(in.times[:0], in.times[i:]...)
		in.dropped = false
	}
	return len(in.times), in.dropped, in.lastErr
}

// countingBind is a Bind that records the handshake initiations sent
// through it in an initiationLog.
type countingBind struct {
	bind.Bind
	log *initiationLog
}

// Send sends as the Bind does, counting the initiations among bufs.
func (b countingBind) Send(bufs [][]byte, ep bind.Endpoint) error {
	n := 0
	for _, buf := range bufs {
		if isInitiation(buf) {
			n++
		}
	}
	err := b.Bind.Send(bufs, ep)
	if n > 0 {
		b.log.record(ep.DstAddrPort(), n, err)
	}
	return err
}

// isInitiation reports whether b is a handshake initiation: its size and
// its type, a little-endian 32-bit 1 (whitepaper §5.4.2).
func isInitiation(b []byte) bool {
	return len(b) == wire.InitiationSize && b[0] == wire.TypeInitiation && b[1] == 0 && b[2] == 0 && b[3] == 0
}
