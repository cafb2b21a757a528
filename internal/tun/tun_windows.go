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
	// linkPoll is how often the adapter's MTU and link state are checked.
	linkPoll = 2 * time.Second
)

// ErrWintunMissing is wrapped when wintun.dll is not beside warren.exe (or
// in System32).
var ErrWintunMissing = errors.New("wintun.dll not found")

// ErrWintunDriver is wrapped when wintun.dll is present but the adapter
// cannot be made (driver not installable, not Administrator, ...).
var ErrWintunDriver = errors.New("the Wintun driver could not be loaded")

// AdapterGUID derives the adapter's GUID from the tunnel name: the same
// name always gives the same GUID, so Windows keeps recognising the
// network (its profile, firewall category and metrics) across restarts
// instead of seeing a new network each time. It is a name-based (version
// 5 layout) UUID over SHA-256 of a fixed label and the name.
func AdapterGUID(name string) windows.GUID {
	sum := sha256.Sum256([]byte("warren wintun adapter GUID v1\x00" + name))
	var g windows.GUID
	g.Data1 = uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
	g.Data2 = uint16(sum[4])<<8 | uint16(sum[5])
	g.Data3 = (uint16(sum[6])<<8|uint16(sum[7]))&0x0fff | 0x5000 // version 5
	copy(g.Data4[:], sum[8:16])
	g.Data4[0] = g.Data4[0]&0x3f | 0x80 // RFC 4122 variant
	return g
}

// Wintun is a tun.Device on a Wintun adapter. Create returns one; the
// Windows tunnel service type-asserts to it for the adapter's LUID.
type Wintun struct {
	name    string
	adapter *wintun.Adapter
	session wintun.Session
	luid    uint64
	// readWait is signalled by Wintun when packets arrive; closing is
	// signalled by Close to wake a blocked Read.
	readWait, closing windows.Handle

	// mu is held shared by Read and Write while they use the session, and
	// exclusively by Close to end it.
	mu     sync.RWMutex
	closed atomic.Bool

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

// Create makes a Wintun adapter called name with a GUID derived from it,
// starts a session on it and returns it as a Device. mtu is what MTU()
// reports until the adapter's IP interface says otherwise (the tunnel
// service sets the interface MTU through the IP Helper API).
func Create(name string, mtu int) (Device, error) {
	return CreateWintun(name, mtu)
}

// CreateWintun is Create returning the concrete type.
func CreateWintun(name string, mtu int) (*Wintun, error) {
	if err := findWintunDLL(); err != nil {
		return nil, fmt.Errorf("create tun %q: %w", name, err)
	}
	guid := AdapterGUID(name)
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
	closing, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		session.End()
		adapter.Close()
		return nil, fmt.Errorf("create tun %q: close event: %w", name, err)
	}
	t := &Wintun{
		name:     name,
		adapter:  adapter,
		session:  session,
		luid:     adapter.LUID(),
		readWait: session.ReadWaitEvent(),
		closing:  closing,
		events:   make(chan Event, 4),
		stop:     make(chan struct{}),
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

// Events reports up/down and MTU changes; closed by Close.
func (t *Wintun) Events() <-chan Event { return t.events }

// BatchSize is the most packets one Read returns.
func (t *Wintun) BatchSize() int { return wintunBatch }

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
// until at least one is there.
func (t *Wintun) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for {
		if t.closed.Load() {
			return 0, t.errClosed("read")
		}
		n := 0
		for n < len(bufs) {
			pkt, err := t.session.ReceivePacket()
			if err != nil {
				switch {
				case errors.Is(err, windows.ERROR_NO_MORE_ITEMS):
				case errors.Is(err, windows.ERROR_HANDLE_EOF):
					return n, t.errClosed("read")
				case errors.Is(err, windows.ERROR_INVALID_DATA):
					return n, fmt.Errorf("tun %s: read: Wintun ring corrupt: %w", t.name, err)
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
		ev, err := windows.WaitForMultipleObjects([]windows.Handle{t.readWait, t.closing}, false, windows.INFINITE)
		if err != nil {
			return 0, fmt.Errorf("tun %s: read: wait: %w", t.name, err)
		}
		if ev == windows.WAIT_OBJECT_0+1 {
			return 0, t.errClosed("read")
		}
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
			return i, t.errClosed("write")
		default:
			return i, fmt.Errorf("tun %s: write: %w", t.name, err)
		}
	}
	return len(bufs), nil
}

// watchLink polls the adapter's IP interfaces for MTU and connection
// changes (set by the tunnel service, netsh or the user).
func (t *Wintun) watchLink() {
	defer t.done.Done()
	tick := time.NewTicker(linkPoll)
	defer tick.Stop()
	up := true
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
		}
		mtu, connected, ok := t.interfaceState()
		if !ok {
			continue
		}
		if mtu > 0 {
			t.SetMTU(mtu)
		}
		if connected != up {
			up = connected
			if up {
				t.event(EventUp)
			} else {
				t.event(EventDown)
			}
		}
	}
}

// interfaceState reads the smaller of the IPv4 and IPv6 interface MTUs and
// whether either family is connected.
func (t *Wintun) interfaceState() (mtu int, connected, ok bool) {
	for _, family := range []uint16{windows.AF_INET, windows.AF_INET6} {
		row := windows.MibIpInterfaceRow{Family: family, InterfaceLuid: t.luid}
		if windows.GetIpInterfaceEntry(&row) != nil {
			continue
		}
		ok = true
		connected = connected || row.Connected != 0
		if m := int(row.NlMtu); m > 0 && (mtu == 0 || m < mtu) {
			mtu = m
		}
	}
	return mtu, connected, ok
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
	err := t.adapter.Close()
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
