package tun

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// cloneDevice is the Linux TUN/TAP clone device.
const cloneDevice = "/dev/net/tun"

// readBatchSize is the most packets one Read returns: all that are queued
// when it is called, up to this many.
const readBatchSize = 128

// eventQueueLen is how many events wait for a slow reader before the
// monitor blocks (Close still ends it).
const eventQueueLen = 16

// Options tune a Linux TUN device. The zero value is the fast default.
type Options struct {
	// NoOffload keeps the kernel from handing over TCP and UDP
	// super-packets and Write from merging TCP segments: one packet per
	// read(2) and write(2), as without IFF_VNET_HDR.
	NoOffload bool
}

// Create creates (or attaches to) the Linux TUN interface name, "" letting
// the kernel pick tunN, and sets its MTU if mtu > 0. The link stays down
// until the user brings it up, as with wireguard-go. The device carries IP
// packets (IFF_TUN|IFF_NO_PI) with offloads: see CreateWithOptions. The
// interface lives in the calling thread's network namespace; it may be
// moved later (ip link set netns), and the Device follows it there.
func Create(name string, mtu int) (Device, error) {
	return CreateWithOptions(name, mtu, Options{})
}

// CreateWithOptions is Create with options. Unless opts.NoOffload, the
// queue carries virtio-net headers (IFF_VNET_HDR) and asks the kernel for
// checksum, TSO and USO offloads: Read splits the kernel's super-packets
// into packets of the interface's MTU, and Write merges runs of TCP
// segments of one flow into super-packets, as GRO would. When the kernel
// refuses an offload, the device does without it.
func CreateWithOptions(name string, mtu int, opts Options) (Device, error) {
	fd, err := unix.Open(cloneDevice, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("create tun %q: open %s: %w", name, cloneDevice, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("create tun %q: %w", name, err)
	}
	// One queue for now; IFF_MULTI_QUEUE would let more fds attach later.
	flags := uint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if !opts.NoOffload {
		flags |= unix.IFF_VNET_HDR
	}
	ifr.SetUint16(flags)
	err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	if err == unix.EINVAL && flags&unix.IFF_VNET_HDR != 0 {
		// A kernel without virtio-net headers on TUN: plain packets.
		ifr.SetUint16(flags &^ unix.IFF_VNET_HDR)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("create tun %q: TUNSETIFF: %w", name, err)
	}
	d, err := newLinuxDevice(os.NewFile(uintptr(fd), cloneDevice), mtu, opts)
	if err != nil {
		return nil, fmt.Errorf("create tun %q: %w", name, err)
	}
	return d, nil
}

// CreateFromFile wraps an open TUN file descriptor, such as one inherited
// through WG_TUN_FD, and sets the MTU if mtu > 0. It takes ownership of f
// and makes the open file non-blocking (shared with any other holder of
// the descriptor). The interface must be IFF_TUN with IFF_NO_PI; with
// IFF_VNET_HDR, the offloads are set up as CreateWithOptions does.
func CreateFromFile(f *os.File, mtu int) (Device, error) {
	return CreateFromFileWithOptions(f, mtu, Options{})
}

// CreateFromFileWithOptions is CreateFromFile with options. A queue opened
// with IFF_VNET_HDR keeps its headers whatever opts says; opts.NoOffload
// then turns the offloads off, so that every packet is plain.
func CreateFromFileWithOptions(f *os.File, mtu int, opts Options) (Device, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("tun from fd %s: %w", f.Name(), err)
	}
	// A private, non-blocking duplicate lets Go's poller wake Read on Close.
	nfd := -1
	cerr := rc.Control(func(fd uintptr) {
		nfd, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	})
	name := f.Name()
	f.Close()
	if err = errors.Join(cerr, err); err != nil {
		return nil, fmt.Errorf("tun from fd %s: dup: %w", name, err)
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return nil, fmt.Errorf("tun from fd %s: %w", name, err)
	}
	d, err := newLinuxDevice(os.NewFile(uintptr(nfd), name), mtu, opts)
	if err != nil {
		return nil, fmt.Errorf("tun from fd %s: %w", name, err)
	}
	return d, nil
}

// linuxDevice is a TUN interface: one queue fd in Go's poller, and a
// monitor goroutine that follows the link through rtnetlink, in whichever
// network namespace the interface currently lives.
type linuxDevice struct {
	file  *os.File // the queue: non-blocking, so Close wakes a blocked Read
	rc    syscall.RawConn
	label string // name at creation, for error messages

	readMu sync.Mutex // serializes Reads, guards rd
	rd     readState
	readFn func(fd uintptr) bool

	// With virtio-net headers (vnet), reads and writes go through the
	// offload state; offloads is what TUNSETOFFLOAD accepted.
	vnet     bool
	offloads int
	rv       *vnetReader // guarded by readMu
	writeMu  sync.Mutex  // serializes vnet Writes, guards wv
	wv       *vnetWriter

	events      chan Event
	closed      chan struct{}
	monitorDone chan struct{}
	closeOnce   sync.Once
	closeErr    error

	mu    sync.Mutex // guards everything below
	isEnd bool       // Close has begun: open no more sockets
	ctl   int        // socket for interface ioctls in netns ctlNS, or -1
	ctlNS netnsID
	sub   *os.File // the monitor's rtnetlink subscription
}

func newLinuxDevice(f *os.File, mtu int, opts Options) (*linuxDevice, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	d := &linuxDevice{
		file:        f,
		rc:          rc,
		events:      make(chan Event, eventQueueLen),
		closed:      make(chan struct{}),
		monitorDone: make(chan struct{}),
		ctl:         -1,
	}
	d.readFn = d.readPackets
	name, flags, err := d.ifreq()
	if err != nil {
		d.closeFiles()
		return nil, err
	}
	d.label = name
	switch {
	case flags&unix.IFF_TUN == 0:
		err = fmt.Errorf("%s is a TAP interface, not TUN", name)
	case flags&unix.IFF_NO_PI == 0:
		err = fmt.Errorf("%s carries packet information headers (IFF_NO_PI unset)", name)
	case flags&unix.IFF_VNET_HDR != 0:
		err = d.setupOffloads(opts)
	}
	if err == nil && mtu > 0 {
		err = d.setMTU(mtu)
	}
	var sub *os.File
	var st linkState
	if err == nil {
		// Subscribe before reading the state so no change falls between.
		sub, st, err = d.subscribe()
	}
	if err != nil {
		d.closeFiles()
		return nil, err
	}
	go d.monitor(sub, st)
	return d, nil
}

// ifreq asks the queue fd for the interface's current name and flags.
func (d *linuxDevice) ifreq() (string, uint16, error) {
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return "", 0, err
	}
	cerr := d.rc.Control(func(fd uintptr) {
		err = unix.IoctlIfreq(int(fd), unix.TUNGETIFF, ifr)
	})
	if err = errors.Join(cerr, err); err != nil {
		return "", 0, fmt.Errorf("tun %s: TUNGETIFF: %w", d.label, closedIfGone(err))
	}
	return ifr.Name(), ifr.Uint16(), nil
}

// closedIfGone adds os.ErrClosed to EBADFD, which the kernel returns once
// the interface is deleted under an open queue.
func closedIfGone(err error) error {
	if errors.Is(err, unix.EBADFD) {
		return fmt.Errorf("%w (interface deleted: %w)", err, os.ErrClosed)
	}
	return err
}

// checkGone adds os.ErrClosed to a Read or Write error if the interface
// was deleted: the poller then reports the queue as not pollable (the
// kernel signals EPOLLERR) rather than the EBADFD a read would return.
func (d *linuxDevice) checkGone(err error) error {
	if errors.Is(err, os.ErrClosed) || errors.Is(err, unix.EBADFD) {
		return closedIfGone(err)
	}
	if _, _, ierr := d.ifreq(); errors.Is(ierr, os.ErrClosed) {
		return fmt.Errorf("%w (interface deleted: %w)", err, os.ErrClosed)
	}
	return err
}

// devNetns returns a handle on the interface's current network namespace,
// or -1 when the kernel cannot tell (before Linux 5.2).
func (d *linuxDevice) devNetns() (int, error) {
	nsfd := -1
	var err error
	cerr := d.rc.Control(func(fd uintptr) {
		nsfd, err = unix.IoctlRetInt(int(fd), unix.TUNGETDEVNETNS)
	})
	if cerr != nil {
		return -1, cerr
	}
	if err != nil {
		if noDevNetns(err) {
			return -1, nil
		}
		return -1, fmt.Errorf("TUNGETDEVNETNS: %w", closedIfGone(err))
	}
	unix.CloseOnExec(nsfd)
	return nsfd, nil
}

// withCtl runs fn with a socket for interface ioctls in the interface's
// current namespace and its current name. The socket is cached until the
// interface moves.
func (d *linuxDevice) withCtl(fn func(ctl int, name string) error) error {
	name, _, err := d.ifreq()
	if err != nil {
		return err
	}
	nsfd, err := d.devNetns()
	if err != nil {
		return fmt.Errorf("tun %s: %w", name, err)
	}
	var id netnsID
	if nsfd >= 0 {
		defer unix.Close(nsfd)
		if id, err = netnsIdentity(nsfd); err != nil {
			return fmt.Errorf("tun %s: %w", name, err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.isEnd {
		return fmt.Errorf("tun %s: %w", name, os.ErrClosed)
	}
	if d.ctl < 0 || d.ctlNS != id {
		s, err := socketInNetns(nsfd, unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("tun %s: control socket in its netns: %w", name, err)
		}
		if d.ctl >= 0 {
			unix.Close(d.ctl)
		}
		d.ctl, d.ctlNS = s, id
	}
	return fn(d.ctl, name)
}

func (d *linuxDevice) setMTU(mtu int) error {
	return d.withCtl(func(ctl int, name string) error {
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		ifr.SetUint32(uint32(mtu))
		if err := unix.IoctlIfreq(ctl, unix.SIOCSIFMTU, ifr); err != nil {
			return fmt.Errorf("tun %s: set MTU %d: %w", name, mtu, err)
		}
		return nil
	})
}

// linkState is what the Events stream reports about the link.
type linkState struct {
	index int32
	ns    netnsID // where index is valid
	up    bool    // administratively up and running
	mtu   int
}

// state reads the link's index, flags and MTU from the kernel.
func (d *linuxDevice) state() (linkState, error) {
	var st linkState
	err := d.withCtl(func(ctl int, name string) error {
		st.ns = d.ctlNS
		for _, q := range []uint{unix.SIOCGIFINDEX, unix.SIOCGIFFLAGS, unix.SIOCGIFMTU} {
			ifr, err := unix.NewIfreq(name)
			if err != nil {
				return err
			}
			if err := unix.IoctlIfreq(ctl, q, ifr); err != nil {
				return fmt.Errorf("tun %s: ioctl %#x: %w", name, q, err)
			}
			switch q {
			case unix.SIOCGIFINDEX:
				st.index = int32(ifr.Uint32())
			case unix.SIOCGIFFLAGS:
				st.up = isUp(uint32(ifr.Uint16()))
			case unix.SIOCGIFMTU:
				st.mtu = int(ifr.Uint32())
			}
		}
		return nil
	})
	return st, err
}

func isUp(flags uint32) bool {
	return flags&unix.IFF_UP != 0 && flags&unix.IFF_RUNNING != 0
}

// Read waits for a packet and then takes every further packet that is
// already queued, up to len(bufs) and BatchSize, so that the engine can
// encrypt and send them as a batch. Without offloads that is one read(2) a
// packet; with them, one read(2) a super-packet, split into packets of the
// MTU (readVnet). A packet too large for the buffers (an MTU raised while
// Read waited) waits for the next Read; if this Read has nothing else to
// hand over, it returns one empty packet, so that the engine can grow its
// buffers.
func (d *linuxDevice) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	d.readMu.Lock()
	defer d.readMu.Unlock()
	if offset < 0 {
		return 0, fmt.Errorf("read tun %s: negative offset %d", d.label, offset)
	}
	r := &d.rd
	r.bufs, r.sizes, r.offset = bufs[:min(len(bufs), len(sizes), readBatchSize)], sizes, offset
	r.n, r.errno = 0, 0
	if len(r.bufs) == 0 {
		return 0, nil
	}
	err := d.rc.Read(d.readFn)
	n, errno := r.n, r.errno
	r.bufs, r.sizes = nil, nil // do not keep the caller's buffers alive
	if n > 0 {
		return n, nil // an error after them shows again on the next Read
	}
	if err == nil && errno != 0 {
		err = errno
	}
	select {
	case <-d.closed:
		return 0, fmt.Errorf("read tun %s: %w", d.label, os.ErrClosed)
	default:
	}
	return 0, fmt.Errorf("read tun %s: %w", d.label, d.checkGone(err))
}

// readState is the state of one Read, kept in the device so that the
// RawConn callback needs no allocation.
type readState struct {
	bufs   [][]byte
	sizes  []int
	offset int
	n      int
	errno  syscall.Errno
}

// readPackets is the RawConn.Read callback: it returns false to wait for
// the first packet, and true once it has any or fails.
func (d *linuxDevice) readPackets(fd uintptr) bool {
	r := &d.rd
	for r.n < len(r.bufs) {
		n, err := unix.Read(int(fd), r.bufs[r.n][r.offset:])
		switch {
		case err == nil:
			r.sizes[r.n] = n
			r.n++
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			return r.n > 0
		default:
			r.errno, _ = err.(syscall.Errno)
			if r.errno == 0 {
				r.errno = unix.EIO
			}
			return true
		}
	}
	return true
}

// Write writes each bufs[i][offset:] as one packet; with offloads, runs of
// TCP segments of one flow go as one super-packet (writeVnet), and the
// bytes before offset are left alone. A packet the kernel refuses (EIO
// while the link is down, EINVAL if malformed) does not stop the others:
// all are consumed and the error counts the failures. Only a closed or
// deleted device ends the batch early.
func (d *linuxDevice) Write(bufs [][]byte, offset int) (int, error) {
	if d.vnet {
		return d.writeVnet(bufs, offset)
	}
	var first error
	failed := 0
	for i, buf := range bufs {
		if _, err := d.file.Write(buf[offset:]); err != nil {
			err = d.checkGone(err)
			if errors.Is(err, os.ErrClosed) {
				return i, fmt.Errorf("write tun %s: %w", d.label, err)
			}
			if first == nil {
				first = err
			}
			failed++
		}
	}
	if first != nil {
		return len(bufs), fmt.Errorf("write tun %s: %d of %d packets failed, first: %w", d.label, failed, len(bufs), first)
	}
	return len(bufs), nil
}

// MTU asks the kernel, in the interface's current namespace.
func (d *linuxDevice) MTU() (int, error) {
	st, err := d.state()
	return st.mtu, err
}

// Name returns the interface's current name.
func (d *linuxDevice) Name() (string, error) {
	name, _, err := d.ifreq()
	return name, err
}

func (d *linuxDevice) Events() <-chan Event { return d.events }

func (d *linuxDevice) BatchSize() int { return readBatchSize }

// Close closes the queue (a blocked Read returns an error wrapping
// os.ErrClosed), stops the monitor and closes Events.
func (d *linuxDevice) Close() error {
	d.closeOnce.Do(func() {
		close(d.closed)
		d.closeErr = d.closeFiles()
		<-d.monitorDone
	})
	return d.closeErr
}

// closeFiles closes the queue and the sockets; the monitor, if running,
// sees its subscription closed and exits.
func (d *linuxDevice) closeFiles() error {
	err := d.file.Close()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.isEnd = true
	if d.ctl >= 0 {
		unix.Close(d.ctl)
		d.ctl = -1
	}
	if d.sub != nil {
		d.sub.Close()
		d.sub = nil
	}
	if err != nil {
		return fmt.Errorf("close tun %s: %w", d.label, err)
	}
	return nil
}
