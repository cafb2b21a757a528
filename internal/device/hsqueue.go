package device

import (
	"encoding/binary"
	"runtime"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wire"
)

// The handshake stage. Receivers hand every handshake message (initiation,
// response, cookie reply) to a bounded queue and go back to data; the
// handshake workers do everything that costs: MAC2 and cookie replies under
// load (§5.3, §5.4.7), the per-source rate limit, the handshake itself and
// the messages it sends. When the queue is full, messages are dropped, and
// the queue's length is what puts the device under load: a flood faster
// than the workers fills it and turns every initiation without a valid MAC2
// into a cheap cookie reply, long before the drops begin.

// handshakeWorkers is how many handshake workers a device runs: half the
// cores, at least one. A flood can keep them busy (their work is DH and
// cookie replies), but never on more than half the machine: the data path
// keeps the rest, and a flood that outruns the workers fills the queue and
// puts the device under load sooner than one worker per core would.
func handshakeWorkers() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// queueHandshake hands a handshake message to the handshake workers, or
// drops it when their queue is full; it never waits. It runs on a
// receiver, so it checks only what is nearly free: the type's exact size
// and, for initiations and responses, MAC1 (one keyed BLAKE2s, cheaper
// than opening a data packet). A message that fails MAC1 was not addressed
// to our public key: dropping it here keeps it from taking a place in the
// queue, so datagrams sent without knowing the key can neither crowd out
// real handshakes nor put the device under load.
func (d *Device) queueHandshake(msg []byte, ep bind.Endpoint) {
	if !handshakeShape(msg) || len(d.hsQ) == cap(d.hsQ) {
		return // malformed, or no room: not worth a MAC
	}
	if msg[0] != wire.TypeCookieReply {
		checker := d.checker.Load()
		if checker == nil || !checker.CheckMAC1(msg) {
			return
		}
	}
	m := d.pools.getHS()
	m.n = copy(m.buf[:], msg)
	m.ep = ep
	d.inflight.Add(1)
	select {
	case d.hsQ <- m:
	default:
		d.inflight.Add(-1)
		d.pools.putHS(m) // queue full: drop, as under any flood
	}
}

// handshakeShape reports whether msg has a handshake message's type, zero
// reserved bytes and exactly that type's size.
func handshakeShape(msg []byte) bool {
	if len(msg) < 4 || msg[1]|msg[2]|msg[3] != 0 {
		return false
	}
	switch msg[0] {
	case wire.TypeInitiation:
		return len(msg) == wire.InitiationSize
	case wire.TypeResponse:
		return len(msg) == wire.ResponseSize
	case wire.TypeCookieReply:
		return len(msg) == wire.CookieReplySize
	}
	return false
}

// handshakeWorker processes queued handshake messages until the device
// stops.
func (d *Device) handshakeWorker() {
	defer d.producers.Done()
	for {
		select {
		case <-d.stop:
			return
		case m := <-d.hsQ:
			now := d.now()
			if d.admitHandshake(m.buf[:m.n], m.ep, now) {
				d.handleHandshake(m, now)
			}
			d.pools.putHS(m)
			d.inflight.Add(-1)
		}
	}
}

// admitHandshake decides whether a queued handshake message goes on to the
// handshake itself (§5.3): under load, an initiation or response needs a
// valid MAC2 (else its sender gets a cookie reply) and its source must be
// within its rate. MAC1 was checked when the message was queued.
func (d *Device) admitHandshake(msg []byte, ep bind.Endpoint, now time.Time) bool {
	if msg[0] == wire.TypeCookieReply {
		return true
	}
	checker := d.checker.Load()
	if checker == nil {
		return false
	}
	if !d.isUnderLoad(now) {
		return true
	}
	src := ep.DstAddrPort()
	var srcBuf [18]byte
	srcBytes := noise.AppendSource(srcBuf[:0], src)
	if !checker.CheckMAC2(msg, srcBytes, now) {
		d.sendCookieReply(checker, msg, ep, srcBytes, now)
		return false
	}
	return d.limiter.Allow(src.Addr(), now)
}

// sendCookieReply answers msg, which came from ep (src: its address as the
// cookie binds it), with a cookie reply (§5.4.7).
func (d *Device) sendCookieReply(checker *noise.CookieChecker, msg []byte, ep bind.Endpoint, src []byte, now time.Time) {
	sender := binary.LittleEndian.Uint32(msg[4:8])
	reply, err := checker.CreateReply(msg, sender, src, now)
	if err != nil {
		d.log.Errorf("Failed to create cookie reply: %v", err)
		return
	}
	var out [wire.CookieReplySize]byte
	if err := d.bind.Send([][]byte{reply.Marshal(out[:])}, ep); err != nil {
		d.log.Verbosef("Failed to send cookie reply to %v: %v", ep, err)
	}
}
