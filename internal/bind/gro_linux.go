package bind

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// setupOffloads turns on the UDP offloads the kernel offers and opts
// allows: GSO needs Linux 4.18 (UDP_SEGMENT), GRO 5.0 (UDP_GRO).
func (s *linuxSocket) setupOffloads(opts StdOptions) {
	_ = s.rc.Control(func(fd uintptr) {
		if !opts.NoGSO {
			if _, err := unix.GetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT); err == nil {
				s.gso.Store(true)
			}
		}
		if !opts.NoGRO {
			s.gro.Store(unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_GRO, 1) == nil)
		}
	})
}

// receiveGRO is the ReceiveFunc of a socket with UDP_GRO: a message may
// hold a run of datagrams of gso_size bytes each (the last maybe
// shorter), which it hands out one per buffer. Messages are received into
// the last buffers and the first ones are pointed at their datagrams, in
// place (no copy; see ReceiveFunc); how many
// messages one call takes adapts to how many datagrams the last call's
// messages held, and a run that still does not fit waits in the spill for
// the next call. Buffers too small for a whole run (64 KiB) get one
// message at a time through a buffer of the socket's own.
func (s *linuxSocket) receiveGRO(bufs [][]byte, sizes []int, eps []Endpoint) (int, error) {
	n := min(len(bufs), len(sizes), len(eps), linuxBatchSize)
	if n == 0 {
		return 0, nil
	}
	s.groMu.Lock()
	defer s.groMu.Unlock()
	if s.spill.pending() {
		return s.spill.drain(bufs[:n], sizes, eps), nil
	}
	small := false
	for _, b := range bufs[:n] {
		if len(b) < maxGROMessage {
			small = true
			break
		}
	}
	m := n
	if s.maxSegs > 1 {
		m = max(1, n/s.maxSegs)
	}
	start := n - m
	// into keeps the message buffers: bufs[i] is repointed as datagrams
	// are handed out.
	into := s.groInto[:m]
	copy(into, bufs[start:n])
	defer clear(into)
	if small {
		if s.groBuf[0] == nil {
			s.groBuf[0] = make([]byte, maxGROMessage)
		}
		into = s.groBuf[:]
	}
	mb := s.rx.Get().(*mmsgBatch)
	defer s.rx.Put(mb)
	got, err := s.recvInto(mb, into)
	if err != nil {
		return 0, err
	}
	out, maxSegs := 0, 1
	for j := range got {
		size := int(mb.msgs[j].Len)
		ctrl := mb.ctrl[j*controlSize : j*controlSize+int(mb.msgs[j].Hdr.Controllen)]
		ep := mb.endpoint(&mb.names[j], ctrl)
		data := into[j][:size]
		seg := parseGROSize(ctrl)
		arrived := parseArrival(ctrl)
		if seg <= 0 || seg >= size {
			seg = max(size, 1)
		}
		maxSegs = max(maxSegs, (size+seg-1)/seg)
		for lo := 0; lo < size || lo == 0; lo += seg {
			hi := min(lo+seg, size)
			if out >= n {
				s.spill.add(data[lo:], seg, ep)
				for k := j + 1; k < got; k++ {
					c := mb.ctrl[k*controlSize : k*controlSize+int(mb.msgs[k].Hdr.Controllen)]
					s.spill.add(into[k][:mb.msgs[k].Len], parseGROSize(c), mb.endpoint(&mb.names[k], c))
				}
				s.maxSegs = max(maxSegs, s.spill.maxSegs())
				s.controlQueue(mb, bufs[:out], sizes)
				return out, nil
			}
			if small {
				// A buffer too small cuts the datagram short, as recvmmsg would.
				sizes[out] = copy(bufs[out], data[lo:hi])
			} else {
				bufs[out] = data[lo:hi:hi]
				sizes[out] = hi - lo
			}
			eps[out] = ep
			mb.arrived[out] = arrived
			out++
			if size == 0 {
				break
			}
		}
	}
	s.maxSegs = maxSegs
	s.controlQueue(mb, bufs[:out], sizes)
	return out, nil
}

// maxGROMessage is the largest message UDP_GRO may deliver.
const maxGROMessage = 1<<16 - 1

// parseGROSize finds the UDP_GRO control message: the size of each
// datagram of a merged run, or 0.
func parseGROSize(ctrl []byte) int {
	hdrLen := unix.CmsgLen(0)
	for len(ctrl) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(ctrl) {
			break
		}
		if h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && l-hdrLen >= 4 {
			return int(*(*int32)(unsafe.Pointer(&ctrl[hdrLen])))
		}
		next := unix.CmsgSpace(l - hdrLen)
		if next > len(ctrl) {
			break
		}
		ctrl = ctrl[next:]
	}
	return 0
}

// groSpill keeps the datagrams of merged runs that did not fit the
// caller's buffers, in arrival order, for the next receive.
type groSpill struct {
	buf  []byte
	ents []spillEntry
	next int // the first entry not yet handed out in full
	off  int // how much of it was
}

type spillEntry struct {
	start, size, seg int // data at buf[start:start+size], datagrams of seg bytes
	ep               Endpoint
}

func (sp *groSpill) pending() bool { return sp.next < len(sp.ents) }

func (sp *groSpill) add(data []byte, seg int, ep Endpoint) {
	if seg <= 0 || seg > len(data) {
		seg = max(len(data), 1)
	}
	sp.ents = append(sp.ents, spillEntry{start: len(sp.buf), size: len(data), seg: seg, ep: ep})
	sp.buf = append(sp.buf, data...)
}

func (sp *groSpill) maxSegs() int {
	m := 1
	for _, e := range sp.ents[sp.next:] {
		m = max(m, (e.size+e.seg-1)/e.seg)
	}
	return m
}

// drain hands out spilled datagrams, one per buffer, and returns how many.
func (sp *groSpill) drain(bufs [][]byte, sizes []int, eps []Endpoint) int {
	out := 0
	for out < len(bufs) && sp.pending() {
		e := &sp.ents[sp.next]
		hi := min(sp.off+e.seg, e.size)
		sizes[out] = copy(bufs[out], sp.buf[e.start+sp.off:e.start+hi])
		eps[out] = e.ep
		out++
		sp.off = hi
		if sp.off >= e.size {
			sp.next++
			sp.off = 0
		}
	}
	if !sp.pending() {
		clear(sp.ents) // drop the Endpoints
		sp.buf, sp.ents, sp.next, sp.off = sp.buf[:0], sp.ents[:0], 0, 0
	}
	return out
}
