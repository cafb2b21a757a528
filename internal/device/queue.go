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

// dispatch puts b on the ordered queue q and splits it into jobs for the
// workers. The jobs are counted before b is queued, so the sequencer never
// sees a batch whose work has not been registered.
func (d *Device) dispatch(q chan<- *batch, b *batch, open bool, mtu int) {
	n := len(b.elems)
	per := max((n+d.workers-1)/d.workers, minJobSize)
	jobs := (n + per - 1) / per
	b.wg.Add(jobs)
	d.inflight.Add(1)
	q <- b
	for lo := 0; lo < n; lo += per {
		d.jobs <- job{b: b, lo: lo, hi: min(lo+per, n), open: open, mtu: mtu}
	}
}

// cryptoWorker runs jobs until the job queue is closed.
func (d *Device) cryptoWorker() {
	defer d.goroutines.Done()
	for j := range d.jobs {
		var held *keypair
		for _, e := range j.b.elems[j.lo:j.hi] {
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
			if j.open {
				held.open(e)
			} else {
				held.seal(e, j.mtu)
			}
		}
		if held != nil {
			held.mu.RUnlock()
		}
		j.b.wg.Done()
	}
}
