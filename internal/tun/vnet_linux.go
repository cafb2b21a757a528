package tun

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// offloadSets are the TUNSETOFFLOAD sets tried in turn: USO needs Linux
// 6.2, TSO any kernel with virtio-net headers.
var offloadSets = [...]int{
	tunFCsum | tunFTSO4 | tunFTSO6 | tunFUSO4 | tunFUSO6,
	tunFCsum | tunFTSO4 | tunFTSO6,
	tunFCsum,
}

// setupOffloads prepares a queue opened with IFF_VNET_HDR: header size, the
// offloads the kernel accepts (none with opts.NoOffload), and the buffers.
func (d *linuxDevice) setupOffloads(opts Options) error {
	var err error
	cerr := d.rc.Control(func(fd uintptr) {
		// An inherited queue may have another header size.
		if err = unix.IoctlSetPointerInt(int(fd), unix.TUNSETVNETHDRSZ, vnetHdrLen); err != nil {
			err = fmt.Errorf("TUNSETVNETHDRSZ: %w", err)
			return
		}
		d.offloads = 0
		if !opts.NoOffload {
			for _, set := range offloadSets {
				if e := unix.IoctlSetInt(int(fd), unix.TUNSETOFFLOAD, set); e == nil {
					d.offloads = set
					break
				}
			}
		}
		if d.offloads == 0 {
			if err = unix.IoctlSetInt(int(fd), unix.TUNSETOFFLOAD, 0); err != nil {
				err = fmt.Errorf("TUNSETOFFLOAD 0: %w", err)
			}
		}
	})
	if err = errors.Join(cerr, err); err != nil {
		return fmt.Errorf("%s: virtio-net header offloads: %w", d.label, err)
	}
	d.vnet = true
	d.rv = &vnetReader{big: make([]byte, maxSuperPacket+1)}
	d.wv = &vnetWriter{merge: d.offloads&tunFTSO4 != 0}
	d.wv.fn = d.wv.writev
	d.readFn = d.readVnet
	return nil
}

// vnetReader is the read side's state: the super-packet being split and
// where it was read.
type vnetReader struct {
	hdr     [vnetHdrLen]byte
	iov     [3 + readBatchSize]unix.Iovec
	big     []byte // holds a super-packet; one byte more than the largest, to see truncation
	seg     segmenter
	waited  bool // a Read returned early because seg's next segment did not fit
	hlen    int  // headers and segment size of the last super-packet: the
	mss     int  // layout the next read scatters into the caller's buffers
	headers [maxScatterHeaders]byte

	dropped atomic.Uint64 // malformed packets and segments too large for the caller
	supers  atomic.Uint64 // super-packets split
	inPlace atomic.Uint64 // of them, split where they were read
}

// maxScatterHeaders bounds the headers of a super-packet split in place.
const maxScatterHeaders = 128

// readVnet is the RawConn.Read callback with virtio-net headers.
//
// Each read(2) is scattered over the caller's buffers as if it were a
// super-packet shaped like the last one: the first buffer takes headers
// and one segment's payload, each further buffer one more payload behind
// room for the headers, and what does not fit overflows into rv.big. When
// the packet is indeed shaped so, its segments are made where they landed,
// by copying the headers only; a plain packet lands whole in the first
// buffer; anything else is gathered into rv.big and split from there,
// over more than one Read if need be.
func (d *linuxDevice) readVnet(fd uintptr) bool {
	r, rv := &d.rd, d.rv
	for r.n < len(r.bufs) {
		if rv.seg.pending() {
			if rv.seg.nextSize() > len(r.bufs[r.n])-r.offset {
				// Buffers sized for an older, smaller MTU. Hand over what
				// was read, or else one empty packet, which the engine
				// skips, and keep the packet for the next Read, whose
				// buffers the engine will have grown. If they have not
				// grown, cut it short as read(2) would.
				switch {
				case r.n > 0:
				case !rv.waited:
					r.sizes[0], r.n = 0, 1
					rv.waited = true
				default:
					r.sizes[0], r.n = rv.seg.truncate(r.bufs[0][r.offset:]), 1
					rv.dropped.Add(1)
					rv.waited = false
				}
				return true
			}
			rv.waited = false
			n, err := rv.seg.fill(r.bufs[r.n:], r.sizes[r.n:], r.offset)
			r.n += n
			if err != nil {
				rv.dropped.Add(1)
			}
			continue
		}
		dst := r.bufs[r.n][r.offset:]
		if len(dst) >= len(rv.big) {
			dst = dst[:len(rv.big)-1]
		}
		hl, mss := rv.hlen, rv.mss
		scatter := hl > 0 && r.n+1 < len(r.bufs) && len(dst) >= hl+mss
		rv.iov[0].Base = &rv.hdr[0]
		rv.iov[0].SetLen(vnetHdrLen)
		k, covered := 1, 0 // iovecs, and packet bytes they cover in the caller's buffers
		if scatter {
			dst = dst[:hl+mss]
			rv.iov[1].Base = &dst[0]
			rv.iov[1].SetLen(len(dst))
			k, covered = 2, len(dst)
			for j := r.n + 1; j < len(r.bufs) && covered+mss < len(rv.big); j++ {
				b := r.bufs[j]
				if len(b)-r.offset < hl+mss {
					break
				}
				rv.iov[k].Base = &b[r.offset+hl]
				rv.iov[k].SetLen(mss)
				k++
				covered += mss
			}
		} else if len(dst) > 0 {
			rv.iov[1].Base = &dst[0]
			rv.iov[1].SetLen(len(dst))
			k, covered = 2, len(dst)
		}
		rv.iov[k].Base = &rv.big[covered]
		rv.iov[k].SetLen(len(rv.big) - covered)
		k++
		m, _, e := unix.Syscall(unix.SYS_READV, fd, uintptr(unsafe.Pointer(&rv.iov[0])), uintptr(k))
		clear(rv.iov[1 : k-1]) // do not keep the caller's buffers alive
		switch e {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return r.n > 0
		default:
			r.errno = e
			return true
		}
		n := int(m) - vnetHdrLen
		if n <= 0 || n > maxSuperPacket {
			rv.dropped.Add(1)
			continue
		}
		var h vnetHdr
		h.decode(rv.hdr[:])
		if n <= len(dst) && h.gsoType == vnetGSONone {
			pkt := dst[:n]
			if h.flags&vnetFlagNeedsCsum != 0 {
				if int(h.csumStart)+int(h.csumOffset)+2 > n {
					rv.dropped.Add(1)
					continue
				}
				completeChecksum(pkt, h)
			}
			r.sizes[r.n] = n
			r.n++
			continue
		}
		if scatter && n <= covered && h.gsoType != vnetGSONone && d.splitInPlace(dst, n, h) {
			continue
		}
		// Gather the packet into rv.big; its tail is there already.
		if scatter {
			copy(rv.big, dst[:min(n, len(dst))])
			for j, at := r.n+1, len(dst); at < min(n, covered); j, at = j+1, at+mss {
				copy(rv.big[at:], r.bufs[j][r.offset+hl:r.offset+hl+min(mss, n-at)])
			}
		} else {
			copy(rv.big, dst[:min(n, len(dst))])
		}
		if err := rv.seg.reset(rv.big[:n], h); err != nil {
			rv.dropped.Add(1)
			continue
		}
		if h.gsoType != vnetGSONone {
			rv.supers.Add(1)
			if rv.seg.hlen <= maxScatterHeaders {
				rv.hlen, rv.mss = rv.seg.hlen, rv.seg.mss
			}
		}
	}
	return true
}

// splitInPlace makes the segments of a super-packet of n bytes scattered
// as readVnet laid it out (first holds the headers), if its headers and
// segment size are the ones predicted, and reports whether it did.
func (d *linuxDevice) splitInPlace(first []byte, n int, h vnetHdr) bool {
	r, rv := &d.rd, d.rv
	hdrs := rv.headers[:copy(rv.headers[:], first[:min(n, len(first))])]
	s := &rv.seg
	if s.resetHeaders(hdrs, n, h) != nil || s.proto == 0 || s.hlen != rv.hlen || s.mss != rv.mss {
		s.drop()
		return false
	}
	for i := range s.segs {
		b := r.bufs[r.n+i][r.offset:]
		size := s.segSize(i)
		if i > 0 {
			copy(b, hdrs[:s.hlen])
		}
		s.fixSegment(b[:size], i)
		r.sizes[r.n+i] = size
	}
	r.n += s.segs
	s.drop()
	rv.supers.Add(1)
	rv.inPlace.Add(1)
	return true
}

// vnetWriter is the write side's state.
type vnetWriter struct {
	merge bool // coalesce TCP segments (the kernel accepts TSO)
	co    coalescer
	hdr   [vnetHdrLen]byte
	iov   [1 + maxGroupSegments]unix.Iovec
	n     int // iovecs in use
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// writev is the RawConn.Write callback: one writev of the prepared iovecs.
func (w *vnetWriter) writev(fd uintptr) bool {
	for {
		_, _, e := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&w.iov[0])), uintptr(w.n))
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		w.errno = e
		return true
	}
}

// writeVnet writes bufs with virtio-net headers, merging TCP segments when
// the kernel takes super-packets. Errors count as in Write.
func (d *linuxDevice) writeVnet(bufs [][]byte, offset int) (int, error) {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	w := d.wv
	var groups []group
	if w.merge {
		groups = w.co.plan(bufs, offset)
	} else {
		groups = w.co.singles(len(bufs))
	}
	var first error
	failed, written := 0, 0
	for gi := range groups {
		g := &groups[gi]
		head := bufs[g.first][offset:]
		var h vnetHdr
		if g.count > 1 {
			g.finish(head, &h)
		}
		h.encode(w.hdr[:])
		w.iov[0].Base = &w.hdr[0]
		w.iov[0].SetLen(vnetHdrLen)
		w.iov[1].Base = unsafe.SliceData(head)
		w.iov[1].SetLen(len(head))
		w.n = 2
		for i := w.co.next[g.first]; i >= 0; i = w.co.next[i] {
			p := bufs[i][offset+g.hlen:]
			w.iov[w.n].Base = unsafe.SliceData(p)
			w.iov[w.n].SetLen(len(p))
			w.n++
		}
		w.errno = 0
		err := d.rc.Write(w.fn)
		clear(w.iov[1:w.n])
		if err != nil {
			// Only the poller fails a RawConn: the file is closing.
			err = fmt.Errorf("%w: %w", os.ErrClosed, err)
		} else if w.errno != 0 {
			err = w.errno
		}
		if err != nil {
			err = d.checkGone(err)
			if errors.Is(err, os.ErrClosed) {
				return written, fmt.Errorf("write tun %s: %w", d.label, err)
			}
			if first == nil {
				first = err
			}
			failed += g.count
		}
		written += g.count
	}
	if first != nil {
		return len(bufs), fmt.Errorf("write tun %s: %d of %d packets failed, first: %w", d.label, failed, len(bufs), first)
	}
	return len(bufs), nil
}
