package device

import (
	"sync"
	"sync/atomic"
)

// The crypto stage. Producers (the TUN reader, the UDP receivers, handshake
// and timer events) hand a batch to one direction (pipe) of the device. An
// idle direction runs a small enough batch to completion on the producer.
// Otherwise the batch goes on the direction's ordered queue and its packets
// are split into jobs for the crypto workers; the single sequencer of each
// direction takes batches in order and waits for each to be complete, so
// packets leave in the order they came while their crypto runs on every
// core.

// job is a range of one batch for a crypto worker.
type job struct {
	b      *batch
	lo, hi int
	open   bool // decrypt (true) or encrypt (false)
	mtu    int
}

// minJobSize keeps jobs big enough that handing them over costs little
// compared with the crypto they carry.
const minJobSize = 4

// pipe is one direction of the data plane: the ordered queue to its
// sequencer, the count of batches on it or being finished by it, and the
// function that finishes a batch (sends it, or writes it to the TUN device).
// Producers hold mu while they dispatch, so batches enter the direction in
// one order.
type pipe struct {
	mu      sync.Mutex
	q       chan *batch
	pending atomic.Int64 // batches queued and not yet finished by the sequencer
	finish  func(*batch)
	open    bool // decrypt (true) or encrypt (false)
}

// dispatch has b's crypto done and b finished, in order with every batch
// dispatched before it; the caller holds pp.mu. A batch of up to inlineMax
// packets whose direction is idle runs to completion right here: crypto,
// then finish, on the producer's goroutine, without a single hand-off. A
// batch that meets a busy direction, or a big one while the device has
// crypto workers to spare, goes to the sequencer, its crypto split into
// jobs for the workers so that a busy pipeline encrypts on every core.
//
// A closed stop channel (nil: never) abandons a batch still waiting for
// room on the queue; dispatch reports whether b was finished or queued.
func (d *Device) dispatch(pp *pipe, b *batch, mtu int, stop <-chan struct{}) bool {
	n := len(b.elems)
	inline := n <= d.inlineMax
	d.inflight.Add(1)
	if inline && pp.pending.Load() == 0 {
		cryptoRange(b.elems, pp.open, mtu)
		pp.finish(b)
		return true
	}
	per := max((n+d.workers-1)/d.workers, minJobSize)
	jobs := (n + per - 1) / per
	if inline {
		cryptoRange(b.elems, pp.open, mtu)
	} else {
		b.wg.Add(jobs)
	}
	pp.pending.Add(1)
	select {
	case pp.q <- b:
	case <-stop:
		pp.pending.Add(-1)
		d.inflight.Add(-1)
		if !inline {
			b.wg.Add(-jobs)
		}
		d.pools.putBatch(b)
		return false
	}
	if inline {
		return true
	}
	for lo := 0; lo < n; lo += per {
		d.jobs <- job{b: b, lo: lo, hi: min(lo+per, n), open: pp.open, mtu: mtu}
	}
	return true
}

// sequence finishes the batches of pp's queue in order, as their crypto
// completes, until the queue is closed.
func (d *Device) sequence(pp *pipe) {
	defer d.goroutines.Done()
	for b := range pp.q {
		b.wg.Wait()
		pp.finish(b)
		pp.pending.Add(-1)
	}
}

// cryptoWorker runs jobs until the job queue is closed.
func (d *Device) cryptoWorker() {
	defer d.goroutines.Done()
	for j := range d.jobs {
		cryptoRange(j.b.elems[j.lo:j.hi], j.open, j.mtu)
		j.b.wg.Done()
	}
}

// cryptoRange seals or opens elems in place, holding each session's lock
// for reading across a run of packets on it.
func cryptoRange(elems []*elem, open bool, mtu int) {
	var held *keypair
	for _, e := range elems {
		if e.kp != held {
			if held != nil {
				held.mu.RUnlock()
			}
			held = e.kp
			held.mu.RLock()
		}
		if held.dead {
			e.ok = false
			continue
		}
		if open {
			held.open(e)
		} else {
			held.seal(e, mtu)
		}
	}
	if held != nil {
		held.mu.RUnlock()
	}
}
