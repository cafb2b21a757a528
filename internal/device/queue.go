package device

// The parallel crypto stage. Producers (the TUN reader, the UDP receivers,
// handshake and timer events) put a batch on an ordered queue (sendQ or
// recvQ) and split its packets into jobs for the crypto workers; the single
// sequencer of each direction takes batches in order and waits for each to
// be complete, so packets leave in the order they came while their crypto
// runs on every core.

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

// dispatch puts b on the ordered queue q and has its crypto done: a small
// batch while the pipeline is idle right here, saving two goroutine
// hand-offs (latency) per packet; otherwise split into jobs for the workers,
// so that a busy pipeline encrypts on every core. The jobs are counted before b is queued,
// so the sequencer never sees a batch whose work has not been registered.
//
// A closed stop channel (nil: never) abandons a batch still waiting for
// room on q; dispatch reports whether b was queued.
func (d *Device) dispatch(q chan<- *batch, b *batch, open bool, mtu int, stop <-chan struct{}) bool {
	n := len(b.elems)
	inline := n <= d.inlineMax && len(q) == 0
	per := max((n+d.workers-1)/d.workers, minJobSize)
	jobs := (n + per - 1) / per
	if inline {
		cryptoRange(b.elems, open, mtu)
	} else {
		b.wg.Add(jobs)
	}
	d.inflight.Add(1)
	select {
	case q <- b:
	case <-stop:
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
		d.jobs <- job{b: b, lo: lo, hi: min(lo+per, n), open: open, mtu: mtu}
	}
	return true
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
