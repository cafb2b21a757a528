package bind

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// linuxBatchSize is how many datagrams one recvmmsg or sendmmsg moves.
const linuxBatchSize = 128

// controlSize is the control-message space per datagram: room for an
// in6_pktinfo (the larger of the two pktinfos), a UDP_GRO segment size and
// an arrival time (SO_TIMESTAMPNS).
const controlSize = 96

// NewStd returns a Bind over the operating system's UDP sockets: one IPv4
// and one IPv6 socket on the same port. On Linux it moves up to 128
// datagrams per system call (recvmmsg/sendmmsg) and keeps sticky source
// addresses: a reply leaves from the local address the peer's datagram
// arrived on (IP_PKTINFO / IPV6_PKTINFO). Datagrams of one burst from the
// same peer path share one Endpoint value rather than allocating each.
//
// It also uses the kernel's UDP offloads where they work: runs of
// same-size datagrams to one endpoint leave as one UDP_SEGMENT message
// (GSO), and runs the kernel merged on receipt (UDP_GRO) are split again.
// Each falls back to one datagram per message when the kernel or the
// socket refuses it.
func NewStd() Bind { return &linuxBind{} }

// NewStdWithOptions is NewStd with offloads turned off as opts says.
func NewStdWithOptions(opts StdOptions) Bind { return &linuxBind{opts: opts} }

type linuxBind struct {
	opts   StdOptions
	mu     sync.RWMutex // guards everything below
	mark   uint32
	v4, v6 *linuxSocket
}

// linuxSocket is one UDP socket of the Bind with its reusable batch state.
type linuxSocket struct {
	conn *net.UDPConn
	rc   syscall.RawConn
	rx   sync.Pool // *mmsgBatch
	tx   sync.Pool // *mmsgBatch

	gso atomic.Bool // sends may merge datagrams with UDP_SEGMENT
	gro atomic.Bool // UDP_GRO is on: received messages may hold runs
	aqm *codel      // the receive queue's delay control, or nil (codel.go)

	// With GRO, receives are serialized: a run that does not fit the
	// caller's buffers waits in spill for the next call.
	groMu   sync.Mutex
	groBuf  [1][]byte // receives one message when the caller's buffers are small
	groInto [linuxBatchSize][]byte
	spill   groSpill
	maxSegs int // the most datagrams one message held in the last receive
}

// mmsgBatch holds the kernel-facing arrays for one recvmmsg or sendmmsg,
// and the state of the call, so that a batch costs no allocations.
type mmsgBatch struct {
	msgs  [linuxBatchSize]unix.Mmsghdr
	iovs  [linuxBatchSize]unix.Iovec
	names [linuxBatchSize]unix.RawSockaddrInet6 // large enough for IPv4 too
	ctrl  [linuxBatchSize * controlSize]byte
	segs  [linuxBatchSize]int // datagrams in each message sent
	// arrived: when each datagram handed out arrived (ns, the kernel's
	// SO_TIMESTAMPNS), 0 when unknown.
	arrived [linuxBatchSize]int64

	n     int           // messages prepared
	done  int           // messages received or sent
	errno syscall.Errno // the call's failure
	recv  func(fd uintptr) bool
	send  func(fd uintptr) bool

	// last is the Endpoint handed out most recently: a burst from one
	// peer path shares it instead of allocating one per datagram.
	last *stdEndpoint
}

func newMmsgBatch() any {
	mb := new(mmsgBatch)
	mb.recv = mb.recvmmsg
	mb.send = mb.sendmmsg
	return mb
}

// recvmmsg is the RawConn.Read callback: it returns false to wait for data.
func (mb *mmsgBatch) recvmmsg(fd uintptr) bool {
	for {
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&mb.msgs[0])), uintptr(mb.n), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			mb.done = int(r)
			return true
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			mb.errno = e
			return true
		}
	}
}

// sendmmsg is the RawConn.Write callback: it sends until all n messages are
// out and returns false to wait for buffer space.
func (mb *mmsgBatch) sendmmsg(fd uintptr) bool {
	for mb.done < mb.n {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&mb.msgs[mb.done])), uintptr(mb.n-mb.done), 0, 0, 0)
		switch e {
		case 0:
			mb.done += int(r)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			mb.errno = e
			return true
		}
	}
	return true
}

func (b *linuxBind) Open(port uint16) ([]ReceiveFunc, uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.v4 != nil || b.v6 != nil {
		return nil, 0, fmt.Errorf("open udp port %d: bind already open", port)
	}
	v4, v6, actual, err := listenPair(port, b.control)
	if err != nil {
		return nil, 0, err
	}
	var fns []ReceiveFunc
	for _, c := range []*net.UDPConn{v4, v6} {
		if c == nil {
			continue
		}
		s, err := newLinuxSocket(c)
		if err != nil {
			closeConns(v4, v6)
			return nil, 0, err
		}
		s.setupOffloads(b.opts)
		s.setupQueueControl(b.opts)
		if c == v4 {
			b.v4 = s
		} else {
			b.v6 = s
		}
		if s.gro.Load() {
			fns = append(fns, s.receiveGRO)
		} else {
			fns = append(fns, s.receive)
		}
	}
	return fns, actual, nil
}

func newLinuxSocket(c *net.UDPConn) (*linuxSocket, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("udp socket %v: %w", c.LocalAddr(), err)
	}
	s := &linuxSocket{conn: c, rc: rc}
	s.rx.New = newMmsgBatch
	s.tx.New = newMmsgBatch
	return s, nil
}

// setupQueueControl turns on arrival stamps and the receive queue's delay
// control (codel.go) when opts ask for it; without stamps there is none.
func (s *linuxSocket) setupQueueControl(opts StdOptions) {
	if !opts.QueueControl {
		return
	}
	_ = s.rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) == nil {
			s.aqm = newCodel(queueTarget, queueInterval)
		}
	})
}

// control prepares each socket before bind: packet info for sticky
// sources, large buffers, and the firewall mark. It runs with b.mu held.
func (b *linuxBind) control(network, address string, c syscall.RawConn) error {
	var err error
	cerr := c.Control(func(fd uintptr) {
		s := int(fd)
		if network == "udp4" {
			err = unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		} else {
			err = unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
		}
		if err != nil {
			err = fmt.Errorf("enable packet info on %s %s: %w", network, address, err)
			return
		}
		setBuffer(s, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF)
		setBuffer(s, unix.SO_SNDBUFFORCE, unix.SO_SNDBUF)
		if b.mark != 0 {
			if e := unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_MARK, int(b.mark)); e != nil {
				err = fmt.Errorf("set fwmark %d on %s %s: %w", b.mark, network, address, e)
			}
		}
	})
	return errors.Join(cerr, err)
}

// setBuffer asks for socketBufferSize, beyond the sysctl limit if the
// process may (CAP_NET_ADMIN), else as much as the limit allows. A small
// buffer only costs drops under load, so failure is not an error.
func setBuffer(fd, force, plain int) {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, socketBufferSize) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, plain, socketBufferSize)
	}
}

func (b *linuxBind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for _, s := range []*linuxSocket{b.v4, b.v6} {
		if s != nil {
			errs = append(errs, s.conn.Close())
		}
	}
	b.v4, b.v6 = nil, nil
	return errors.Join(errs...)
}

func (b *linuxBind) SetMark(mark uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mark = mark
	for _, s := range []*linuxSocket{b.v4, b.v6} {
		if s == nil {
			continue
		}
		var err error
		cerr := s.rc.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, int(mark))
		})
		if err = errors.Join(cerr, err); err != nil {
			return fmt.Errorf("set fwmark %d on %v: %w", mark, s.conn.LocalAddr(), err)
		}
	}
	return nil
}

func (b *linuxBind) ParseEndpoint(s string) (Endpoint, error) { return parseEndpoint(s) }

func (b *linuxBind) BatchSize() int { return linuxBatchSize }

// source returns the sticky source address and its interface index.
func (e *stdEndpoint) source() (netip.Addr, int32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.src, e.srcIfindex
}

// receive is a ReceiveFunc: one recvmmsg for up to BatchSize datagrams.
func (s *linuxSocket) receive(bufs [][]byte, sizes []int, eps []Endpoint) (int, error) {
	n := min(len(bufs), len(sizes), len(eps), linuxBatchSize)
	if n == 0 {
		return 0, nil
	}
	mb := s.rx.Get().(*mmsgBatch)
	defer s.rx.Put(mb)
	done, err := s.recvInto(mb, bufs[:n])
	if err != nil {
		return 0, err
	}
	for i := range done {
		sizes[i] = int(mb.msgs[i].Len)
		ctrl := mb.ctrl[i*controlSize : i*controlSize+int(mb.msgs[i].Hdr.Controllen)]
		eps[i] = mb.endpoint(&mb.names[i], ctrl)
		mb.arrived[i] = parseArrival(ctrl)
	}
	s.controlQueue(mb, bufs[:done], sizes)
	return done, nil
}

// controlQueue runs the receive queue's delay control over a batch just
// received (its arrival times in mb.arrived).
func (s *linuxSocket) controlQueue(mb *mmsgBatch, bufs [][]byte, sizes []int) {
	if s.aqm != nil && len(bufs) > 0 {
		s.aqm.filter(time.Now().UnixNano(), bufs, sizes, mb.arrived[:len(bufs)])
	}
}

// parseArrival finds the SO_TIMESTAMPNS control message: when the
// datagram arrived, in ns since the epoch, or 0.
func parseArrival(ctrl []byte) int64 {
	hdrLen := unix.CmsgLen(0)
	for len(ctrl) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(ctrl) {
			break
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_TIMESTAMPNS && l-hdrLen >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := *(*unix.Timespec)(unsafe.Pointer(&ctrl[hdrLen]))
			return ts.Nano()
		}
		next := unix.CmsgSpace(l - hdrLen)
		if next > len(ctrl) {
			break
		}
		ctrl = ctrl[next:]
	}
	return 0
}

// recvInto receives up to len(bufs) messages, the i-th into bufs[i], and
// leaves them in mb (Len, names, control messages). It returns how many.
func (s *linuxSocket) recvInto(mb *mmsgBatch, bufs [][]byte) (int, error) {
	n := len(bufs)
	for i := range n {
		if len(bufs[i]) == 0 {
			return 0, fmt.Errorf("receive on %v: buffer %d is empty", s.conn.LocalAddr(), i)
		}
		mb.iovs[i].Base = &bufs[i][0]
		mb.iovs[i].SetLen(len(bufs[i]))
		h := &mb.msgs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&mb.names[i]))
		h.Namelen = unix.SizeofSockaddrInet6
		h.Iov = &mb.iovs[i]
		h.SetIovlen(1)
		h.Control = &mb.ctrl[i*controlSize]
		h.SetControllen(controlSize)
		h.Flags = 0
	}
	defer clear(mb.iovs[:n]) // do not keep the caller's buffers alive

	mb.n, mb.done, mb.errno = n, 0, 0
	err := s.rc.Read(mb.recv)
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return 0, ErrClosed
		}
		return 0, fmt.Errorf("receive on %v: %w", s.conn.LocalAddr(), err)
	}
	if mb.errno != 0 {
		return 0, fmt.Errorf("receive on %v: %w", s.conn.LocalAddr(), os.NewSyscallError("recvmmsg", mb.errno))
	}
	return mb.done, nil
}

// endpoint returns the Endpoint of a received datagram, reusing the one
// handed out last when the path (both addresses) is the same.
func (mb *mmsgBatch) endpoint(sa *unix.RawSockaddrInet6, ctrl []byte) Endpoint {
	dst, src, ifindex := pathFrom(sa, ctrl)
	if l := mb.last; l != nil && l.dst == dst {
		if lsrc, lifindex := l.source(); lsrc == src && lifindex == ifindex {
			return l
		}
	}
	mb.last = &stdEndpoint{dst: dst, src: src, srcIfindex: ifindex}
	return mb.last
}

// pathFrom reads a received datagram's path: the sender from its sockaddr
// and the local address from its packet-info control message.
func pathFrom(sa *unix.RawSockaddrInet6, ctrl []byte) (dst netip.AddrPort, src netip.Addr, ifindex int32) {
	port := beUint16(&sa.Port)
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		dst = netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 && a.IsLinkLocalUnicast() {
			a = a.WithZone(strconv.FormatUint(uint64(sa.Scope_id), 10))
		}
		dst = unmapAddrPort(netip.AddrPortFrom(a, port))
	}
	src, ifindex = parsePktinfo(ctrl)
	return dst, src, ifindex
}

// parsePktinfo finds the local address (and interface) a datagram arrived
// on in its control messages, without allocating.
func parsePktinfo(ctrl []byte) (netip.Addr, int32) {
	hdrLen := unix.CmsgLen(0)
	for len(ctrl) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(ctrl) {
			break
		}
		data := ctrl[hdrLen:l]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			info := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			// Spec_dst is the local address the kernel itself would answer from.
			return netip.AddrFrom4(info.Spec_dst), 0
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			info := (*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0]))
			a := netip.AddrFrom16(info.Addr)
			if a.IsLinkLocalUnicast() {
				// A link-local source means something only with its interface.
				return a, int32(info.Ifindex)
			}
			return a, 0
		}
		next := unix.CmsgSpace(l - hdrLen)
		if next > len(ctrl) {
			break
		}
		ctrl = ctrl[next:]
	}
	return netip.Addr{}, 0
}

func beUint16(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

func putBeUint16(p *uint16, v uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(v>>8), byte(v)
}

func (b *linuxBind) Send(bufs [][]byte, ep Endpoint) error {
	dst := unmapAddrPort(ep.DstAddrPort())
	b.mu.RLock()
	defer b.mu.RUnlock()
	s := b.v6
	if dst.Addr().Is4() {
		s = b.v4
	}
	if s == nil {
		if b.v4 == nil && b.v6 == nil {
			return ErrClosed
		}
		return noSocketError(dst)
	}
	var src netip.Addr
	var ifindex int32
	sep, sticky := ep.(*stdEndpoint)
	if sticky {
		src, ifindex = sep.source()
		if src.Is4() != dst.Addr().Is4() {
			src, ifindex = netip.Addr{}, 0 // a source of the other family cannot be used
		}
	}
	sent, err := s.send(bufs, dst, src, ifindex)
	if err != nil && src.IsValid() && sourceGone(err) {
		// The sticky source address disappeared (or moved): forget it and
		// let the routing table choose for the datagrams not yet sent.
		sep.ClearSrc()
		_, err = s.send(bufs[sent:], dst, netip.Addr{}, 0)
	}
	return err
}

// sourceGone reports whether a send failed because its fixed source
// address can no longer be used.
func sourceGone(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.ENETUNREACH)
}

// send sends bufs to dst in sendmmsg batches, from src if it is valid. It
// returns how many datagrams went out.
func (s *linuxSocket) send(bufs [][]byte, dst netip.AddrPort, src netip.Addr, ifindex int32) (int, error) {
	mb := s.tx.Get().(*mmsgBatch)
	defer s.tx.Put(mb)
	namelen, err := putSockaddr(&mb.names[0], dst)
	if err != nil {
		return 0, err
	}
	total := 0
	for len(bufs) > 0 {
		gso := s.gso.Load()
		msgs, used := mb.prepare(bufs, namelen, src, ifindex, gso)
		sent, err := s.sendmmsg(mb, msgs)
		clear(mb.iovs[:used])
		datagrams := 0
		for _, k := range mb.segs[:sent] {
			datagrams += k
		}
		total += datagrams
		if err != nil && gso && used > msgs && gsoRefused(err) {
			// The kernel or the route cannot segment: send one datagram
			// per message from now on, starting with the rest of these.
			s.gso.Store(false)
			bufs = bufs[datagrams:]
			continue
		}
		if err != nil {
			return total, fmt.Errorf("send to %v from %v: %w", dst, s.conn.LocalAddr(), err)
		}
		bufs = bufs[used:]
	}
	return total, nil
}

// gsoRefused reports whether a send with UDP_SEGMENT may have failed
// because of the segmentation: EIO when the device cannot checksum,
// EINVAL or EMSGSIZE when a segment exceeds the path MTU (datagrams that
// need fragmenting cannot be segmented) or the socket does not take it.
func gsoRefused(err error) bool {
	return errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EMSGSIZE)
}

// maxGSOSegments and maxGSOBytes bound one UDP_SEGMENT message: the
// kernel's UDP_MAX_SEGMENTS (64 before Linux 6.9) and the largest UDP
// payload over IPv4.
const (
	maxGSOSegments = 64
	maxGSOBytes    = 1<<16 - 1 - 20 - 8
)

// prepare fills mb with the messages for as many of bufs as one sendmmsg
// takes, merging runs of same-size datagrams (the last of a run may be
// shorter) into UDP_SEGMENT messages when gso is set. It returns the
// messages prepared and the datagrams they hold; mb.segs has each
// message's count.
func (mb *mmsgBatch) prepare(bufs [][]byte, namelen uint32, src netip.Addr, ifindex int32, gso bool) (msgs, used int) {
	for used < len(bufs) && msgs < linuxBatchSize && used < len(mb.iovs) {
		first := used
		size := len(bufs[used])
		bytes := 0
		for used < len(bufs) && used < len(mb.iovs) {
			l := len(bufs[used])
			k := used - first
			if k > 0 && (!gso || l > size || k == maxGSOSegments || bytes+l > maxGSOBytes || len(bufs[used-1]) < size) {
				break
			}
			mb.iovs[used].Base = unsafe.SliceData(bufs[used])
			mb.iovs[used].SetLen(l)
			bytes += l
			used++
		}
		k := used - first
		h := &mb.msgs[msgs].Hdr
		h.Name = (*byte)(unsafe.Pointer(&mb.names[0]))
		h.Namelen = namelen
		h.Iov = &mb.iovs[first]
		h.SetIovlen(k)
		ctrl := mb.ctrl[msgs*controlSize : (msgs+1)*controlSize]
		n := putPktinfo(ctrl, src, ifindex)
		if k > 1 {
			n += putSegment(ctrl[n:], size)
		}
		h.Control = nil
		if n > 0 {
			h.Control = &ctrl[0]
		}
		h.SetControllen(n)
		h.Flags = 0
		mb.segs[msgs] = k
		msgs++
	}
	return msgs, used
}

// putSegment writes a UDP_SEGMENT control message and returns its length.
func putSegment(ctrl []byte, size int) int {
	clear(ctrl[:unix.CmsgSpace(2)])
	h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&ctrl[unix.CmsgLen(0)])) = uint16(size)
	return unix.CmsgSpace(2)
}

// sendmmsg sends the first n prepared messages and returns how many went out.
func (s *linuxSocket) sendmmsg(mb *mmsgBatch, n int) (int, error) {
	mb.n, mb.done, mb.errno = n, 0, 0
	err := s.rc.Write(mb.send)
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return mb.done, ErrClosed
		}
		return mb.done, err
	}
	if mb.errno != 0 {
		return mb.done, os.NewSyscallError("sendmmsg", mb.errno)
	}
	return mb.done, nil
}

// putSockaddr writes dst as a sockaddr_in or sockaddr_in6 and returns its length.
func putSockaddr(sa *unix.RawSockaddrInet6, dst netip.AddrPort) (uint32, error) {
	*sa = unix.RawSockaddrInet6{}
	a := dst.Addr()
	if a.Is4() {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		sa4.Family = unix.AF_INET
		putBeUint16(&sa4.Port, dst.Port())
		sa4.Addr = a.As4()
		return unix.SizeofSockaddrInet4, nil
	}
	sa.Family = unix.AF_INET6
	putBeUint16(&sa.Port, dst.Port())
	sa.Addr = a.As16()
	if z := a.Zone(); z != "" {
		id, err := zoneIndex(z)
		if err != nil {
			return 0, fmt.Errorf("send to %v: %w", dst, err)
		}
		sa.Scope_id = id
	}
	return unix.SizeofSockaddrInet6, nil
}

// zoneIndex turns an IPv6 zone ("3" or "eth0") into an interface index.
func zoneIndex(zone string) (uint32, error) {
	if id, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(id), nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, fmt.Errorf("zone %q: %w", zone, err)
	}
	return uint32(ifi.Index), nil
}

// putPktinfo writes the control message that fixes the source address and
// returns its length, or 0 when src is not set.
func putPktinfo(ctrl []byte, src netip.Addr, ifindex int32) int {
	if !src.IsValid() {
		return 0
	}
	clear(ctrl)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
	data := unsafe.Pointer(&ctrl[unix.CmsgLen(0)])
	if src.Is4() {
		h.Level, h.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
		info := (*unix.Inet4Pktinfo)(data)
		info.Spec_dst = src.As4()
		return unix.CmsgSpace(unix.SizeofInet4Pktinfo)
	}
	h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
	h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
	info := (*unix.Inet6Pktinfo)(data)
	info.Addr = src.As16()
	info.Ifindex = uint32(ifindex)
	return unix.CmsgSpace(unix.SizeofInet6Pktinfo)
}
