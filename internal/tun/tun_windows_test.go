//go:build windows

package tun

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// fakeSession is a Wintun session without a driver: packets queued by the
// test are received, sent ones are kept, and the errors Wintun returns are
// injected. Its read-wait event is a real event, as a session's is.
type fakeSession struct {
	t        *testing.T
	mu       sync.Mutex
	rx       [][]byte
	rxErr    error // returned once rx is empty (nil: ERROR_NO_MORE_ITEMS)
	receives int   // ReceivePacket calls
	allocErr error
	sent     [][]byte
	event    windows.Handle
	ended    atomic.Int32
	misuse   atomic.Bool // used after End
}

func newFakeSession(t *testing.T) *fakeSession {
	ev, err := windows.CreateEvent(nil, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { windows.CloseHandle(ev) })
	return &fakeSession{t: t, event: ev}
}

func (s *fakeSession) check() {
	if s.ended.Load() > 0 {
		s.misuse.Store(true)
	}
}

func (s *fakeSession) ReceivePacket() ([]byte, error) {
	s.check()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.receives++
	if len(s.rx) > 0 {
		p := s.rx[0]
		s.rx = s.rx[1:]
		return p, nil
	}
	if s.rxErr != nil {
		return nil, s.rxErr
	}
	return nil, windows.ERROR_NO_MORE_ITEMS
}

func (s *fakeSession) ReleaseReceivePacket([]byte) { s.check() }

func (s *fakeSession) AllocateSendPacket(n int) ([]byte, error) {
	s.check()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.allocErr != nil {
		return nil, s.allocErr
	}
	return make([]byte, n), nil
}

func (s *fakeSession) SendPacket(p []byte) {
	s.check()
	s.mu.Lock()
	s.sent = append(s.sent, p)
	s.mu.Unlock()
}

func (s *fakeSession) ReadWaitEvent() windows.Handle { return s.event }
func (s *fakeSession) End()                          { s.ended.Add(1) }

// deliver queues packets (or, with none, the error err) and signals the
// read-wait event, as Wintun does when the ring fills.
func (s *fakeSession) deliver(err error, pkts ...[]byte) {
	s.mu.Lock()
	s.rx = append(s.rx, pkts...)
	if err != nil {
		s.rxErr = err
	}
	s.mu.Unlock()
	windows.SetEvent(s.event)
}

// fakeLink is the adapter state the device polls.
type fakeLink struct {
	mu sync.Mutex
	st linkState
}

func (l *fakeLink) set(st linkState) { l.mu.Lock(); l.st = st; l.mu.Unlock() }
func (l *fakeLink) get() (linkState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st, nil
}

type fakeWintun struct {
	*Wintun
	s       *fakeSession
	link    *fakeLink
	removed atomic.Int32
}

func newFakeWintun(t *testing.T) *fakeWintun {
	t.Helper()
	f := &fakeWintun{s: newFakeSession(t), link: &fakeLink{st: linkState{MTU: 1420, Connected: true}}}
	w, err := newWintun("wg-test", f.s, func() error { f.removed.Add(1); return nil }, 42, 1420, f.link.get, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	f.Wintun = w
	t.Cleanup(func() { w.Close() })
	return f
}

func readBufs() ([][]byte, []int) {
	bufs := make([][]byte, wintunBatch)
	for i := range bufs {
		bufs[i] = make([]byte, 16+1500)
	}
	return bufs, make([]int, wintunBatch)
}

type readResult struct {
	n   int
	err error
}

func goRead(w *Wintun) <-chan readResult {
	out := make(chan readResult, 1)
	go func() {
		bufs, sizes := readBufs()
		n, err := w.Read(bufs, sizes, 16)
		out <- readResult{n, err}
	}()
	return out
}

func waitRead(t *testing.T, c <-chan readResult) readResult {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked after 5s")
		return readResult{}
	}
}

func TestWintunReadWaitsForPackets(t *testing.T) {
	f := newFakeWintun(t)
	c := goRead(f.Wintun)
	select {
	case r := <-c:
		t.Fatalf("Read returned %v without packets", r)
	case <-time.After(50 * time.Millisecond):
	}
	f.s.deliver(nil, []byte{0x45, 1, 2}, []byte{0x45, 3})
	if r := waitRead(t, c); r.err != nil || r.n != 2 {
		t.Fatalf("Read = %d, %v; want 2 packets", r.n, r.err)
	}
}

// TestWintunRingCorruptIsFatal: ERROR_INVALID_DATA fails the device for
// good, in a way the engine stops on (os.ErrClosed) and the service reads
// (Dead, Err), and the ring is not read again.
func TestWintunRingCorruptIsFatal(t *testing.T) {
	f := newFakeWintun(t)
	c := goRead(f.Wintun)
	f.s.deliver(windows.ERROR_INVALID_DATA)
	r := waitRead(t, c)
	if !errors.Is(r.err, ErrRingCorrupt) || !errors.Is(r.err, os.ErrClosed) || !errors.Is(r.err, windows.ERROR_INVALID_DATA) {
		t.Fatalf("Read = %v; want ErrRingCorrupt, os.ErrClosed and ERROR_INVALID_DATA", r.err)
	}
	select {
	case <-f.Dead():
	default:
		t.Fatal("Dead not closed")
	}
	if !errors.Is(f.Err(), ErrRingCorrupt) {
		t.Errorf("Err = %v", f.Err())
	}
	f.s.mu.Lock()
	before := f.s.receives
	f.s.mu.Unlock()
	bufs, sizes := readBufs()
	if _, err := f.Read(bufs, sizes, 16); !errors.Is(err, ErrRingCorrupt) {
		t.Errorf("second Read = %v", err)
	}
	if _, err := f.Write([][]byte{make([]byte, 20)}, 0); !errors.Is(err, ErrRingCorrupt) || !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after the failure = %v", err)
	}
	f.s.mu.Lock()
	after := f.s.receives
	f.s.mu.Unlock()
	if after != before {
		t.Errorf("the corrupt ring was read again (%d more times)", after-before)
	}
}

func TestWintunHandleEOFMeansGone(t *testing.T) {
	f := newFakeWintun(t)
	c := goRead(f.Wintun)
	f.s.deliver(windows.ERROR_HANDLE_EOF)
	r := waitRead(t, c)
	if !errors.Is(r.err, os.ErrClosed) || !errors.Is(r.err, ErrAdapterGone) {
		t.Fatalf("Read = %v; want os.ErrClosed and ErrAdapterGone", r.err)
	}
	if !errors.Is(f.Err(), ErrAdapterGone) {
		t.Errorf("Err = %v", f.Err())
	}
}

func TestWintunReadOtherErrorIsNotFatal(t *testing.T) {
	f := newFakeWintun(t)
	f.s.deliver(windows.ERROR_GEN_FAILURE)
	bufs, sizes := readBufs()
	_, err := f.Read(bufs, sizes, 16)
	if !errors.Is(err, windows.ERROR_GEN_FAILURE) || errors.Is(err, os.ErrClosed) || f.Err() != nil {
		t.Fatalf("Read = %v, Err = %v; want a plain, retryable error", err, f.Err())
	}
}

func TestWintunWrite(t *testing.T) {
	f := newFakeWintun(t)
	pkts := [][]byte{append(make([]byte, 16), 0x45, 1), append(make([]byte, 16), 0x45, 2, 3)}
	if n, err := f.Write(pkts, 16); n != 2 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if len(f.s.sent) != 2 || !slices.Equal(f.s.sent[1], []byte{0x45, 2, 3}) {
		t.Fatalf("sent %x", f.s.sent)
	}

	// A full ring drops, as a congested link does.
	f.s.allocErr = windows.ERROR_BUFFER_OVERFLOW
	if n, err := f.Write(pkts, 16); n != 2 || err != nil {
		t.Fatalf("Write to a full ring = %d, %v; want both dropped without error", n, err)
	}
	if len(f.s.sent) != 2 {
		t.Fatalf("a full ring took packets: %d", len(f.s.sent))
	}
	if f.Err() != nil {
		t.Fatal("a full ring failed the device")
	}

	f.s.allocErr = windows.ERROR_HANDLE_EOF
	if _, err := f.Write(pkts, 16); !errors.Is(err, os.ErrClosed) || !errors.Is(err, ErrAdapterGone) {
		t.Fatalf("Write on a closing adapter = %v", err)
	}
}

// TestWintunCloseWhileReading: Close wakes a blocked Read, which returns
// os.ErrClosed promptly; the session ends only after Read let go of it;
// nothing is left running.
func TestWintunCloseWhileReading(t *testing.T) {
	baseline := runtime.NumGoroutine()
	f := newFakeWintun(t)
	c := goRead(f.Wintun)
	time.Sleep(50 * time.Millisecond) // let Read block
	start := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r := waitRead(t, c)
	if !errors.Is(r.err, os.ErrClosed) || r.n != 0 {
		t.Fatalf("Read = %d, %v; want os.ErrClosed", r.n, r.err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Read returned %v after Close", d)
	}
	if f.s.ended.Load() != 1 || f.removed.Load() != 1 {
		t.Errorf("session ended %d times, adapter removed %d times; want 1 each", f.s.ended.Load(), f.removed.Load())
	}
	if f.s.misuse.Load() {
		t.Error("the session was used after End")
	}
	if err := f.Close(); err != nil || f.s.ended.Load() != 1 {
		t.Errorf("second Close = %v, ended %d", err, f.s.ended.Load())
	}
	for range f.Events() {
	}
	bufs, sizes := readBufs()
	if _, err := f.Read(bufs, sizes, 16); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read after Close = %v", err)
	}
	if f.Err() != nil {
		t.Errorf("Close counted as a failure: %v", f.Err())
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWintunIgnoresDisconnect: Windows reporting the adapter disconnected
// must not take the engine down (EventDown wipes every session); the MTU
// is still followed, and an adapter that stays missing fails the device.
func TestWintunIgnoresDisconnect(t *testing.T) {
	f := newFakeWintun(t)
	if ev := <-f.Events(); ev != EventUp {
		t.Fatalf("first event %v, want EventUp", ev)
	}
	f.link.set(linkState{MTU: 1420, Connected: false})
	time.Sleep(50 * time.Millisecond)
	f.link.set(linkState{MTU: 1380, Connected: false})
	// The MTU update may be reported before or after MTU() shows it: wait
	// for both, and for no EventDown meanwhile.
	deadline := time.After(5 * time.Second)
	sawUpdate := false
	for mtu := 0; mtu != 1380 || !sawUpdate; mtu, _ = f.MTU() {
		select {
		case ev := <-f.Events():
			if ev&EventDown != 0 {
				t.Fatal("a disconnected adapter was reported down")
			}
			sawUpdate = sawUpdate || ev&EventMTUUpdate != 0
		case <-deadline:
			t.Fatalf("the MTU change was not followed (MTU %d, EventMTUUpdate seen: %v)", mtu, sawUpdate)
		case <-time.After(time.Millisecond):
		}
	}
	if f.Err() != nil {
		t.Fatalf("device failed: %v", f.Err())
	}

	c := goRead(f.Wintun)
	f.link.set(linkState{Gone: true})
	select {
	case <-f.Dead():
	case <-time.After(5 * time.Second):
		t.Fatal("a vanished adapter was not noticed")
	}
	if !errors.Is(f.Err(), ErrAdapterGone) {
		t.Errorf("Err = %v", f.Err())
	}
	// The blocked Read is woken by the failure.
	if r := waitRead(t, c); !errors.Is(r.err, ErrAdapterGone) || !errors.Is(r.err, os.ErrClosed) {
		t.Errorf("Read when the adapter vanished = %v", r.err)
	}
}

// TestMissingWintunDLL runs where no wintun.dll is installed (wine, CI):
// Create must say what is missing and where to get it.
func TestMissingWintunDLL(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(exe), "wintun.dll")); err == nil {
		t.Skip("wintun.dll is installed here")
	}
	_, err = Create("warren-test", 1420)
	if err == nil {
		t.Skip("Wintun is available on this machine")
	}
	if !errors.Is(err, ErrWintunMissing) {
		t.Skipf("wintun.dll found in System32; Create failed otherwise: %v", err)
	}
	for _, want := range []string{"wintun.dll", "https://www.wintun.net/", "beside warren.exe"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
