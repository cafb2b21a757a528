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
	iov     [3]unix.Iovec
	big     []byte // holds a super-packet; one byte more than the largest, to see truncation
	seg     segmenter
	waited  bool          // a Read returned early because seg's next segment did not fit
	dropped atomic.Uint64 // malformed packets and segments too large for the caller
	supers  atomic.Uint64 // super-packets split
}

// readVnet is the RawConn.Read callback with virtio-net headers. Each
// read(2) lands in the caller's next buffer when the packet fits; a
// super-packet overflows into rv.big, is gathered there, and its segments
// go to the caller's buffers, over more than one Read if need be.
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
		rv.iov[0].Base = &rv.hdr[0]
		rv.iov[0].SetLen(vnetHdrLen)
		rv.iov[1].Base = unsafe.SliceData(dst)
		rv.iov[1].SetLen(len(dst))
		rv.iov[2].Base = &rv.big[len(dst)]
		rv.iov[2].SetLen(len(rv.big) - len(dst))
		iovs := rv.iov[:]
		if len(dst) == 0 {
			iovs = []unix.Iovec{rv.iov[0], rv.iov[2]}
		}
		m, _, e := unix.Syscall(unix.SYS_READV, fd, uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)))
		rv.iov[1].Base = nil // do not keep the caller's buffer alive
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
		copy(rv.big, dst[:min(n, len(dst))])
		if err := rv.seg.reset(rv.big[:n], h); err != nil {
			rv.dropped.Add(1)
		} else if h.gsoType != vnetGSONone {
			rv.supers.Add(1)
		}
	}
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
