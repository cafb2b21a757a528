//go:build windows

package tun

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/windows"
	"golang.zx2c4.com/wintun"
)

// Wintun parameters.
const (
	// wintunRing is the session's ring capacity for each direction: 8 MiB
	// holds several thousand full-size packets, enough to ride out a
	// scheduling hiccup at gigabit rates.
	wintunRing = 8 << 20
	// wintunBatch is the most packets one Read returns.
	wintunBatch = 128
	// wintunTunnelType is the adapter's type as Windows shows it.
	wintunTunnelType = "Warren"
	// wintunURL is where wintun.dll comes from.
	wintunURL = "https://www.wintun.net/"
	// linkPoll is how often the adapter's MTU and existence are checked.
	linkPoll = 2 * time.Second
	// goneAfter is how many polls in a row must find the adapter missing
	// before it counts as gone.
	goneAfter = 2
)

// ErrWintunMissing is wrapped when wintun.dll is not beside warren.exe (or
// in System32).
var ErrWintunMissing = errors.New("wintun.dll not found")

// ErrWintunDriver is wrapped when wintun.dll is present but the adapter
// cannot be made (driver not installable, not Administrator, ...).
var ErrWintunDriver = errors.New("the Wintun driver could not be loaded")

// ErrAdapterGone is the reason a Wintun device failed when its adapter
// disappeared under it (removed by someone else, driver unloaded).
var ErrAdapterGone = errors.New("the Wintun adapter disappeared")

// ErrRingCorrupt is the reason a Wintun device failed when its receive
// ring reported ERROR_INVALID_DATA: the ring cannot be trusted any more,
// and retrying would only read garbage or spin.
var ErrRingCorrupt = errors.New("the Wintun ring is corrupt")

// wintunSession is the part of a Wintun session the device uses.
// wintun.Session has it; tests use a fake.
type wintunSession interface {
	ReceivePacket() ([]byte, error)
	ReleaseReceivePacket(packet []byte)
	AllocateSendPacket(size int) ([]byte, error)
	SendPacket(packet []byte)
	ReadWaitEvent() windows.Handle
	End()
}

// linkState is what the device polls of its adapter.
type linkState struct {
	// MTU is the smaller of the adapter's IPv4 and IPv6 MTUs; 0 if
	// neither family is attached.
	MTU int
	// Connected is the media state Windows reports. The device does not
	// act on it: a "disconnected" flap is not the tunnel going down, and
	// taking the engine down for it would wipe every session.
	Connected bool
	// Gone says the adapter no longer exists.
	Gone bool
}

// Wintun is a tun.Device on a Wintun adapter. CreateWintun returns one;
// the Windows tunnel service uses it for the adapter's LUID and to learn
// that the adapter failed (Dead, Err).
type Wintun struct {
	name         string
	session      wintunSession
	closeAdapter func() error
	state        func() (linkState, error)
	poll         time.Duration
	luid         uint64
	// readWait is signalled by Wintun when packets arrive; closing is
	// signalled by Close, or when the adapter fails, to wake a blocked
	// Read.
	readWait, closing windows.Handle

	// mu is held shared by Read and Write while they use the session, and
	// exclusively by Close to end it.
	mu     sync.RWMutex
	closed atomic.Bool

	// dead is closed when the adapter failed on its own; deadErr says why.
	deadOnce sync.Once
	dead     chan struct{}
	deadErr  error

	mtu atomic.Int32
	// evMu orders event sends against Close closing events: SetMTU may
	// be called by the service at any time.
	evMu     sync.Mutex
	evClosed bool
	events   chan Event
	stop     chan struct{}
	done     sync.WaitGroup
}

var _ Device = (*Wintun)(nil)

// nameGUID is the adapter GUID Create uses, having no configuration to
// derive one from: a name-based (version 5 layout) UUID over SHA-256 of a
// fixed label and the name. The tunnel service passes a GUID derived from
// the whole configuration instead (winnet.AdapterGUID).
func nameGUID(name string) windows.GUID {
	sum := sha256.Sum256([]byte("warren wintun adapter GUID v1\x00" + name))
	var g windows.GUID
	g.Data1 = uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
	g.Data2 = uint16(sum[4])<<8 | uint16(sum[5])
	g.Data3 = (uint16(sum[6])<<8|uint16(sum[7]))&0x0fff | 0x5000 // version 5
	copy(g.Data4[:], sum[8:16])
	g.Data4[0] = g.Data4[0]&0x3f | 0x80 // RFC 4122 variant
	return g
}

// Create makes a Wintun adapter called name with a GUID derived from the
// name, starts a session on it and returns it as a Device. mtu is what
// MTU() reports until the adapter's IP interface says otherwise (the
// tunnel service sets the interface MTU through the IP Helper API).
func Create(name string, mtu int) (Device, error) {
	return CreateWintun(name, mtu, nameGUID(name))
}

// CreateWintun makes a Wintun adapter called name with the given GUID
// (Windows keys the adapter's network profile by it) and starts a session
// on it.
func CreateWintun(name string, mtu int, guid windows.GUID) (*Wintun, error) {
	if err := findWintunDLL(); err != nil {
		return nil, fmt.Errorf("create tun %q: %w", name, err)
	}
	adapter, err := wintun.CreateAdapter(name, wintunTunnelType, &guid)
	if err != nil {
		return nil, fmt.Errorf("create tun %q: %w: %w (warren must run as Administrator or SYSTEM; wintun.dll from %s matching %s)",
			name, ErrWintunDriver, err, wintunURL, runtime.GOARCH)
	}
	session, err := adapter.StartSession(wintunRing)
	if err != nil {
		adapter.Close()
		return nil, fmt.Errorf("create tun %q: start Wintun session: %w", name, err)
	}
	luid := adapter.LUID()
	t, err := newWintun(name, session, adapter.Close, luid, mtu, func() (linkState, error) { return readLinkState(luid) }, linkPoll)
	if err != nil {
		session.End()
		adapter.Close()
		return nil, fmt.Errorf("create tun %q: %w", name, err)
	}
	return t, nil
}

// newWintun wraps a started session. closeAdapter removes the adapter;
// state is polled every poll for the MTU and the adapter's existence.
func newWintun(name string, s wintunSession, closeAdapter func() error, luid uint64, mtu int,
	state func() (linkState, error), poll time.Duration) (*Wintun, error) {
	closing, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("close event: %w", err)
	}
	t := &Wintun{
		name:         name,
		session:      s,
		closeAdapter: closeAdapter,
		state:        state,
		poll:         poll,
		luid:         luid,
		readWait:     s.ReadWaitEvent(),
		closing:      closing,
		dead:         make(chan struct{}),
		events:       make(chan Event, 4),
		stop:         make(chan struct{}),
	}
	t.mtu.Store(int32(mtu))
	t.events <- EventUp
	t.done.Add(1)
	go t.watchLink()
	return t, nil
}

// CreateFromFile has no meaning on Windows (there is no TUN file
// descriptor to inherit). It closes f.
func CreateFromFile(f *os.File, mtu int) (Device, error) {
	f.Close()
	return nil, fmt.Errorf("tun from fd %s: not available on Windows (use Create): %w", f.Name(), errors.ErrUnsupported)
}

// LUID is the adapter's locally unique identifier, the key the IP Helper
// API and WFP use for the interface.
func (t *Wintun) LUID() uint64 { return t.luid }

// Name returns the adapter's name.
func (t *Wintun) Name() (string, error) { return t.name, nil }

// MTU returns the adapter's current MTU.
func (t *Wintun) MTU() (int, error) { return int(t.mtu.Load()), nil }

// SetMTU records a new MTU set on the adapter's IP interface and reports
// EventMTUUpdate.
func (t *Wintun) SetMTU(mtu int) {
	if int(t.mtu.Swap(int32(mtu))) != mtu {
		t.event(EventMTUUpdate)
	}
}

// Events reports up and MTU changes; closed by Close. The device never
// reports EventDown: Windows' "disconnected" media state is not the
// tunnel going away (a failed adapter is reported by Dead).
func (t *Wintun) Events() <-chan Event { return t.events }

// BatchSize is the most packets one Read returns.
func (t *Wintun) BatchSize() int { return wintunBatch }

// Dead is closed when the adapter failed on its own — it disappeared, or
// its ring is corrupt — not when Close is called. Err says why. From
// then on Read and Write fail with an error that matches os.ErrClosed (so
// the engine stops instead of retrying) and the reason.
func (t *Wintun) Dead() <-chan struct{} { return t.dead }

// Err is why the adapter failed (wrapping ErrAdapterGone or
// ErrRingCorrupt), or nil.
func (t *Wintun) Err() error {
	select {
	case <-t.dead:
		return t.deadErr
	default:
		return nil
	}
}

// die records that the adapter failed and wakes a blocked Read. Callers
// hold mu shared, or are watchLink, which Close waits for: the closing
// event is still open.
func (t *Wintun) die(reason error) {
	t.deadOnce.Do(func() {
		t.deadErr = reason
		close(t.dead)
		windows.SetEvent(t.closing)
	})
}

// failedError is what Read and Write return once the adapter has failed.
type failedError struct {
	name, op string
	reason   error
}

func (e *failedError) Error() string { return fmt.Sprintf("tun %s: %s: %v", e.name, e.op, e.reason) }

// Unwrap matches the reason and os.ErrClosed: the device is unusable.
func (e *failedError) Unwrap() []error { return []error{e.reason, os.ErrClosed} }

func (t *Wintun) failed(op string) error { return &failedError{t.name, op, t.deadErr} }

// event reports e unless the channel is full (a reader that is behind
// learns the current state from MTU() anyway).
func (t *Wintun) event(e Event) {
	t.evMu.Lock()
	defer t.evMu.Unlock()
	if t.evClosed {
		return
	}
	select {
	case t.events <- e:
	default:
	}
}

// errClosed is returned by Read and Write once the device is closed.
func (t *Wintun) errClosed(op string) error {
	return fmt.Errorf("tun %s: %s: %w", t.name, op, os.ErrClosed)
}

// Read reads up to len(bufs) packets from the adapter's ring, blocking
// until at least one is there. ERROR_HANDLE_EOF (the adapter is going
// away) and ERROR_INVALID_DATA (the ring is corrupt) fail the device for
// good (see Dead).
func (t *Wintun) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for {
		if t.closed.Load() {
			return 0, t.errClosed("read")
		}
		if t.Err() != nil {
			return 0, t.failed("read")
		}
		n := 0
		for n < len(bufs) {
			pkt, err := t.session.ReceivePacket()
			if err != nil {
				switch {
				case errors.Is(err, windows.ERROR_NO_MORE_ITEMS):
				case errors.Is(err, windows.ERROR_HANDLE_EOF):
					t.die(fmt.Errorf("%w: %w", ErrAdapterGone, err))
					return n, t.failed("read")
				case errors.Is(err, windows.ERROR_INVALID_DATA):
					t.die(fmt.Errorf("%w: %w", ErrRingCorrupt, err))
					return n, t.failed("read")
				default:
					return n, fmt.Errorf("tun %s: read: %w", t.name, err)
				}
				break
			}
			if len(pkt) > len(bufs[n])-offset {
				// Larger than the buffer: the MTU was raised under us.
				// Drop it, as a NIC drops a giant frame.
				t.session.ReleaseReceivePacket(pkt)
				continue
			}
			sizes[n] = copy(bufs[n][offset:], pkt)
			t.session.ReleaseReceivePacket(pkt)
			n++
		}
		if n > 0 {
			return n, nil
		}
		if _, err := windows.WaitForMultipleObjects([]windows.Handle{t.readWait, t.closing}, false, windows.INFINITE); err != nil {
			return 0, fmt.Errorf("tun %s: read: wait: %w", t.name, err)
		}
		// Woken by packets, Close or a failure: the loop's top tells.
	}
}

// Write sends each bufs[i][offset:] into the adapter's ring. A full ring
// drops the packet (counted as written), as a congested link would.
func (t *Wintun) Write(bufs [][]byte, offset int) (int, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed.Load() {
		return 0, t.errClosed("write")
	}
	if t.Err() != nil {
		return 0, t.failed("write")
	}
	for i, b := range bufs {
		pkt := b[offset:]
		if len(pkt) == 0 {
			continue
		}
		out, err := t.session.AllocateSendPacket(len(pkt))
		switch {
		case err == nil:
			copy(out, pkt)
			t.session.SendPacket(out)
		case errors.Is(err, windows.ERROR_BUFFER_OVERFLOW):
			// ring full: drop
		case errors.Is(err, windows.ERROR_HANDLE_EOF):
			t.die(fmt.Errorf("%w: %w", ErrAdapterGone, err))
			return i, t.failed("write")
		default:
			return i, fmt.Errorf("tun %s: write: %w", t.name, err)
		}
	}
	return len(bufs), nil
}

// watchLink polls the adapter for MTU changes (set by the tunnel service,
// netsh or the user) and for its disappearance. The media state is left
// alone (see linkState.Connected).
func (t *Wintun) watchLink() {
	defer t.done.Done()
	tick := time.NewTicker(t.poll)
	defer tick.Stop()
	missing := 0
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
		}
		st, err := t.state()
		if err != nil {
			continue
		}
		if st.Gone {
			if missing++; missing >= goneAfter {
				t.die(fmt.Errorf("%w: its interface is no longer listed", ErrAdapterGone))
				return
			}
			continue
		}
		missing = 0
		if st.MTU > 0 {
			t.SetMTU(st.MTU)
		}
	}
}

// readLinkState reads the adapter's interface row (missing: gone) and the
// smaller of its IPv4 and IPv6 MTUs.
func readLinkState(luid uint64) (linkState, error) {
	ifrow := windows.MibIfRow2{InterfaceLuid: luid}
	if err := windows.GetIfEntry2Ex(windows.MibIfEntryNormalWithoutStatistics, &ifrow); err != nil {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_NOT_FOUND) {
			return linkState{Gone: true}, nil
		}
		return linkState{}, err
	}
	var st linkState
	for _, family := range []uint16{windows.AF_INET, windows.AF_INET6} {
		row := windows.MibIpInterfaceRow{Family: family, InterfaceLuid: luid}
		if windows.GetIpInterfaceEntry(&row) != nil {
			continue
		}
		st.Connected = st.Connected || row.Connected != 0
		if m := int(row.NlMtu); m > 0 && (st.MTU == 0 || m < st.MTU) {
			st.MTU = m
		}
	}
	return st, nil
}

// Close ends the session, removes the adapter and closes Events. A blocked
// Read returns an error wrapping os.ErrClosed. Close is idempotent.
func (t *Wintun) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	close(t.stop)
	windows.SetEvent(t.closing)
	t.done.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.session.End()
	err := t.closeAdapter()
	windows.CloseHandle(t.closing)
	t.evMu.Lock()
	t.evClosed = true
	close(t.events)
	t.evMu.Unlock()
	if err != nil {
		return fmt.Errorf("tun %s: remove Wintun adapter: %w", t.name, err)
	}
	return nil
}
