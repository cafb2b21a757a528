package device

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/wire"
)

// receive reads batches of datagrams from one socket of the bind: transport
// messages go to the crypto workers and the receive sequencer, handshake
// messages to the handshake queue. It returns when the bind is closed.
func (d *Device) receive(fn bind.ReceiveFunc, stop <-chan struct{}) {
	defer d.recvWG.Done()
	bs := max(1, d.bind.BatchSize())
	// Datagrams land in this goroutine's own full-size buffers. Each
	// transport message is opened from there into a pooled buffer of its
	// size: straight out of the receive buffer when the batch's crypto is
	// sure to run right here (inline), before the next receive reuses it;
	// otherwise the message is copied over first and opened in place by a
	// worker.
	direct := d.inlineMax >= bs
	own := make([][]byte, bs)
	for i := range own {
		own[i] = make([]byte, MaxMessageSize)
	}
	bufs := make([][]byte, bs) // own, or what fn pointed them at
	copy(bufs, own)
	sizes := make([]int, bs)
	eps := make([]bind.Endpoint, bs)
	var bo backoff
	for {
		n, err := fn(bufs, sizes, eps)
		if n > 0 {
			bo.ok()
			d.datagrams.Add(uint64(n))
			d.demux(bufs[:n], sizes[:n], eps[:n], direct, stop)
			clear(eps)
			copy(bufs, own)
		}
		if err != nil {
			select {
			case <-stop:
				return // whatever a closed bind reports
			default:
			}
			if isClosedErr(err) {
				return
			}
			d.log.Verbosef("Failed to receive packet: %v", err)
			if n == 0 {
				bo.fail()
			}
		}
	}
}

// demux sorts one received batch: transport messages go into a batch for
// decryption (copied, unless direct says that their crypto runs before
// demux returns), handshake messages into the handshake queue, which never
// makes demux wait.
func (d *Device) demux(bufs [][]byte, sizes []int, eps []bind.Endpoint, direct bool, stop <-chan struct{}) {
	now := d.now()
	b := d.pools.getBatch()
	var lastIdx uint32
	var last indexEntry
	var haveLast bool
	for i, buf := range bufs {
		msg := buf[:sizes[i]]
		if len(msg) < 4 {
			continue
		}
		switch msg[0] {
		case wire.TypeTransport:
			h, err := wire.ParseTransportHeader(msg)
			if err != nil {
				continue
			}
			if !haveLast || h.Receiver != lastIdx {
				last, haveLast = d.index.lookup(h.Receiver)
				lastIdx = h.Receiver
			}
			kp := last.kp
			if !haveLast || kp == nil || h.Counter >= RejectAfterMessages || now.Sub(kp.created) >= RejectAfterTime {
				continue
			}
			e := d.pools.getElem(len(msg))
			if direct {
				e.pkt = msg // opened out of place, into e.buf[Headroom:]
			} else {
				e.pkt = e.buf[:copy(e.buf, msg)]
			}
			e.kp, e.peer, e.counter, e.ep = kp, kp.peer, h.Counter, eps[i]
			b.elems = append(b.elems, e)
		case wire.TypeInitiation, wire.TypeResponse, wire.TypeCookieReply:
			d.queueHandshake(msg, eps[i])
		}
	}
	if len(b.elems) == 0 {
		d.pools.putBatch(b)
		return
	}
	d.rx.mu.Lock()
	d.dispatch(&d.rx, b, 0, stop)
	d.rx.mu.Unlock()
}

// rxGroup accumulates what one peer's run of packets in a batch means for
// its timers.
type rxGroup struct {
	p       *Peer
	kp      *keypair
	ep      bind.Endpoint
	bytes   uint64
	data    bool
	rotated bool
}

// deliver applies the replay window and the AllowedIPs source check to a
// decrypted batch, writes its packets to the TUN device, runs the timers
// and recycles it. It runs on the receive sequencer or, for a batch that ran
// to completion, on its receiver (holding d.rx.mu); never on both at once.
func (d *Device) deliver(b *batch) {
	var bufs [][]byte
	bufs, d.rxGroups = d.filterInbound(b, d.rxBufs[:0], d.rxGroups[:0])
	// Roaming first: the packets passed the replay window and the source
	// check, so their peer is where they came from; whoever sees them
	// arrive at the TUN sees the peer's new endpoint too.
	for i := range d.rxGroups {
		d.rxGroups[i].p.setEndpoint(d.rxGroups[i].ep)
	}
	if len(bufs) > 0 {
		if _, err := d.tun.Write(bufs, Headroom); err != nil {
			d.log.Verbosef("Failed to write packets to TUN device: %v", err)
		}
	}
	clear(bufs)
	d.rxBufs = bufs[:0]
	now := d.now()
	flush := d.rxFlush[:0]
	for i := range d.rxGroups {
		g := &d.rxGroups[i]
		p := g.p
		p.rxBytes.Add(g.bytes)
		if g.rotated {
			p.timersHandshakeComplete()
			flush = append(flush, p)
		}
		p.timersAnyAuthenticatedPacketTraversal()
		p.timersAnyAuthenticatedPacketReceived()
		if g.data {
			p.timersDataReceived()
		}
		p.keepKeyFreshReceiving(g.kp, now)
		*g = rxGroup{}
	}
	d.pools.putBatch(b)
	d.inflight.Add(-1)
	if len(flush) > 0 {
		// The responder's session is confirmed: send what waited.
		d.flushPeers(flush, false)
		clear(flush)
	}
	d.rxFlush = flush[:0]
}

// filterInbound keeps the authentic, fresh packets of b whose inner source
// routes back to the peer they came from, trimmed to their IP length.
func (d *Device) filterInbound(b *batch, bufs [][]byte, groups []rxGroup) ([][]byte, []rxGroup) {
	d.tableMu.RLock()
	defer d.tableMu.RUnlock()
	var g *rxGroup
	for _, e := range b.elems {
		if !e.ok {
			continue
		}
		kp := e.kp
		kp.replayMu.Lock()
		fresh := kp.replay.Accept(e.counter, RejectAfterMessages)
		kp.replayMu.Unlock()
		if !fresh {
			continue
		}
		p := kp.peer
		if g == nil || g.p != p || g.kp != kp {
			groups = append(groups, rxGroup{p: p, kp: kp})
			g = &groups[len(groups)-1]
		}
		g.ep = e.ep
		g.bytes += uint64(len(e.pkt) + wire.TransportOverhead)
		if p.receivedWith(kp) {
			g.rotated = true
		}
		if len(e.pkt) == 0 {
			continue // keepalive
		}
		src, n, ok := srcAndLen(e.pkt)
		if !ok {
			continue
		}
		if q, ok := d.table.Lookup(src); !ok || q != p {
			continue // §2: the inner source must be one of the peer's AllowedIPs
		}
		g.data = true
		bufs = append(bufs, e.buf[:Headroom+n])
	}
	return bufs, groups
}

// srcAndLen returns the source address and the length the IP header claims
// (padding excluded) of a decrypted packet.
func srcAndLen(pkt []byte) (netip.Addr, int, bool) {
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 {
			return netip.Addr{}, 0, false
		}
		n := int(binary.BigEndian.Uint16(pkt[2:4]))
		if n < 20 || n > len(pkt) {
			return netip.Addr{}, 0, false
		}
		return netip.AddrFrom4([4]byte(pkt[12:16])), n, true
	case 6:
		if len(pkt) < 40 {
			return netip.Addr{}, 0, false
		}
		n := 40 + int(binary.BigEndian.Uint16(pkt[4:6]))
		if n > len(pkt) {
			return netip.Addr{}, 0, false
		}
		return netip.AddrFrom16([16]byte(pkt[8:24])), n, true
	}
	return netip.Addr{}, 0, false
}

// keepKeyFreshReceiving: an initiator whose session nears RejectAfterTime
// rekeys once, even if it sends nothing (§6.2).
func (p *Peer) keepKeyFreshReceiving(kp *keypair, now time.Time) {
	if !kp.initiator || now.Sub(kp.created) <= RejectAfterTime-KeepaliveTimeout-RekeyTimeout {
		return
	}
	p.mu.Lock()
	cur := p.cur
	p.mu.Unlock()
	if cur != kp || p.sentLastMinuteHandshake.Swap(true) {
		return
	}
	p.d.goInitiate(p)
}
