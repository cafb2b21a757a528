package device

import (
	"errors"
	"net/netip"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/wire"
)

var errNoEndpoint = errors.New("no known endpoint for peer")

// readTUN reads batches of packets from the TUN device, routes each to its
// peer by destination (cryptokey routing, §2) and sends them.
func (d *Device) readTUN() {
	defer d.producers.Done()
	bs := max(1, d.tun.BatchSize())
	elems := make([]*elem, bs)
	bufs := make([][]byte, bs)
	sizes := make([]int, bs)
	touched := make([]*Peer, 0, 8)
	refill := func() {
		need := Headroom + int(d.mtu.Load()) + wire.PaddingMultiple + wire.TagSize
		for i, e := range elems {
			if e != nil && len(e.buf) < need {
				d.pools.putElem(e)
				e = nil
			}
			if e == nil {
				e = d.pools.getElem(need)
				elems[i] = e
			}
			// Room is left for padding and the tag behind the packet.
			bufs[i] = e.buf[:len(e.buf)-wire.PaddingMultiple-wire.TagSize]
		}
	}
	defer func() {
		for _, e := range elems {
			if e != nil {
				d.pools.putElem(e)
			}
		}
	}()
	var bo backoff
	for {
		refill() // replaces what was staged, and follows the MTU
		n, err := d.tun.Read(bufs, sizes, Headroom)
		if n > 0 {
			bo.ok()
			touched = d.routeOutbound(elems[:n], sizes[:n], touched[:0])
			d.flushPeers(touched, true)
			clear(touched)
		}
		if err != nil {
			d.lifeMu.Lock()
			closing := d.closing
			d.lifeMu.Unlock()
			if closing {
				return // whatever a closed TUN device reports
			}
			if isClosedErr(err) {
				d.log.Errorf("TUN device closed: %v", err)
				go d.Close()
				return
			}
			d.log.Verbosef("Failed to read packet from TUN device: %v", err)
			if n == 0 {
				bo.fail()
			}
		}
	}
}

// routeOutbound stages each packet on the peer its destination routes to,
// taking it out of elems, and returns the peers that got packets. Runs of
// packets to one destination (the common case) cost one lookup and one
// lock.
func (d *Device) routeOutbound(elems []*elem, sizes []int, touched []*Peer) []*Peer {
	if !d.isUp.Load() {
		return touched
	}
	d.tableMu.RLock()
	defer d.tableMu.RUnlock()
	var (
		lastDst  netip.Addr
		lastPeer *Peer
		run      []*elem // the current run of packets to lastPeer
	)
	flush := func() {
		if lastPeer != nil && len(run) > 0 {
			lastPeer.stage(run)
			if !containsPeer(touched, lastPeer) {
				touched = append(touched, lastPeer)
			}
		}
		clear(run)
		run = run[:0]
	}
	run = d.runScratch[:0]
	for i, e := range elems {
		pkt := e.buf[Headroom : Headroom+sizes[i]]
		dst, ok := dstAddr(pkt)
		if !ok {
			continue
		}
		p := lastPeer
		if dst != lastDst || p == nil {
			if p, ok = d.table.Lookup(dst); !ok {
				continue
			}
			lastDst = dst
		}
		if p != lastPeer {
			flush()
			lastPeer = p
		}
		e.pkt = pkt
		e.peer = p
		run = append(run, e)
		elems[i] = nil
	}
	flush()
	d.runScratch = run[:0]
	return touched
}

func containsPeer(ps []*Peer, p *Peer) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// dstAddr returns the destination address of an IPv4 or IPv6 packet.
func dstAddr(pkt []byte) (netip.Addr, bool) {
	if len(pkt) == 0 {
		return netip.Addr{}, false
	}
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4([4]byte(pkt[16:20])), true
	case 6:
		if len(pkt) < 40 {
			return netip.Addr{}, false
		}
		return netip.AddrFrom16([16]byte(pkt[24:40])), true
	}
	return netip.Addr{}, false
}

// sendKeepalive sends an empty transport packet, or the staged packets if
// there are any (they serve the same purpose).
func (p *Peer) sendKeepalive() {
	p.mu.Lock()
	if len(p.staged) == 0 {
		e := p.d.pools.getElem(wire.MinTransportSize)
		e.pkt = e.buf[Headroom:Headroom]
		e.peer = p
		p.staged = append(p.staged, e)
	}
	p.mu.Unlock()
	p.d.flushPeers([]*Peer{p}, false)
}

// flushPeers moves the staged packets of peers that have a usable session
// into one batch, numbering them, and hands it to the crypto workers and
// the send sequencer. Peers without a session get a handshake. initiate
// says whether this goroutine may start handshakes itself; otherwise that
// happens on a goroutine of its own.
func (d *Device) flushPeers(peers []*Peer, initiate bool) {
	if len(peers) == 0 {
		return
	}
	var hsBuf [8]*Peer
	needHS := hsBuf[:0]
	now := d.now()
	b := d.pools.getBatch()
	d.tx.mu.Lock()
	for _, p := range peers {
		p.mu.Lock()
		if len(p.staged) == 0 {
			p.mu.Unlock()
			continue
		}
		kp := p.cur
		if !sessionUsable(kp, now) {
			p.mu.Unlock()
			needHS = append(needHS, p)
			continue
		}
		taken := 0
		for _, e := range p.staged {
			c := kp.sendNonce.Add(1) - 1
			if c >= RejectAfterMessages {
				kp.sendNonce.Store(RejectAfterMessages)
				break
			}
			e.counter, e.kp, e.peer = c, kp, p
			b.elems = append(b.elems, e)
			taken++
		}
		rest := copy(p.staged, p.staged[taken:])
		clear(p.staged[rest:])
		p.staged = p.staged[:rest]
		// §6.2: either side rekeys after REKEY_AFTER_MESSAGES; only the
		// initiator after REKEY_AFTER_TIME (both rekeying on time would
		// make them race each other).
		rekey := rest > 0 || kp.sendNonce.Load() > RekeyAfterMessages ||
			(kp.initiator && now.Sub(kp.created) > RekeyAfterTime)
		p.mu.Unlock()
		if rekey {
			needHS = append(needHS, p)
		}
	}
	if len(b.elems) > 0 {
		d.dispatch(&d.tx, b, int(d.mtu.Load()), nil)
	} else {
		d.pools.putBatch(b)
	}
	d.tx.mu.Unlock()
	for _, p := range needHS {
		if initiate {
			p.sendInitiation(false)
		} else {
			d.goInitiate(p)
		}
	}
}

// goInitiate starts a handshake on a goroutine of its own, for callers
// that must not block on handshake locks (the receive pipeline).
func (d *Device) goInitiate(p *Peer) {
	if !p.initiating.CompareAndSwap(false, true) {
		return
	}
	if !d.enter() {
		p.initiating.Store(false)
		return
	}
	d.inflight.Add(1)
	go func() {
		defer d.leave()
		defer d.inflight.Add(-1)
		defer p.initiating.Store(false)
		p.sendInitiation(false)
	}()
}

// transmit sends a sealed batch, grouped by peer into bind.Send calls, and
// recycles it. It runs on the send sequencer or, for a batch that ran to
// completion, on its producer; never on both at once.
func (d *Device) transmit(b *batch) {
	maxBatch := max(1, d.bind.BatchSize())
	elems := b.elems
	for i := 0; i < len(elems); {
		p := elems[i].peer
		j := i
		var bytes uint64
		data := false
		bufs := d.txBufs[:0]
		for ; j < len(elems) && elems[j].peer == p; j++ {
			e := elems[j]
			if !e.ok {
				continue
			}
			bufs = append(bufs, e.pkt)
			bytes += uint64(len(e.pkt))
			if len(e.pkt) > wire.MinTransportSize {
				data = true
			}
		}
		i = j
		d.txBufs = bufs[:0]
		if len(bufs) == 0 {
			continue
		}
		p.timersAnyAuthenticatedPacketTraversal()
		p.timersAnyAuthenticatedPacketSent()
		if data {
			// Before the send: the answer may arrive, and clear this
			// timer, before a goroutine descheduled after Send would arm
			// it, leaving a spurious new handshake due.
			p.timersDataSent()
		}
		if ep := p.getEndpoint(); ep != nil {
			if err := d.sendChunked(bufs, maxBatch, ep); err != nil {
				d.log.Verbosef("%v - Failed to send data packets: %v", p, err)
			} else {
				p.txBytes.Add(bytes)
			}
		}
		clear(bufs)
	}
	d.pools.putBatch(b)
	d.inflight.Add(-1)
}

// sendChunked sends bufs in chunks of at most n per bind.Send.
func (d *Device) sendChunked(bufs [][]byte, n int, ep bind.Endpoint) error {
	for len(bufs) > 0 {
		k := min(n, len(bufs))
		if err := d.bind.Send(bufs[:k], ep); err != nil {
			return err
		}
		bufs = bufs[k:]
	}
	return nil
}
