package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// relayBufSize is the copy buffer of each direction of a relay while it
// moves data: large reads amortize the userspace stack's per-call cost.
const relayBufSize = 256 << 10

// udpBufSize holds any UDP datagram.
const udpBufSize = 65535

// Buffers come from pools and go back whenever there is nothing to read,
// so idle connections and flows hold none: a flood of idle clients costs
// sockets and goroutines, not 256 KiB apiece.
var (
	relayBufs = sync.Pool{New: func() any { b := make([]byte, relayBufSize); return &b }}
	udpBufs   = sync.Pool{New: func() any { b := make([]byte, udpBufSize); return &b }}
)

// closeWriter is a connection that can half-close (TCP, on both stacks).
type closeWriter interface{ CloseWrite() error }

// waitReadable blocks until the stream c has something to report to a
// read (data, end of stream, an error) without holding a buffer: a
// system socket is polled for readability; any other connection (the
// userspace stack's TCP) gets a zero-length read, which blocks until
// there is data. Either way the read that follows finds out what it was.
func waitReadable(c net.Conn) {
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil && waitRawReadable(rc) {
			return
		}
		if _, ok := c.(*net.TCPConn); ok {
			return // a zero-length read would return at once
		}
	}
	c.Read(nil)
}

// waitDatagram blocks until a datagram socket has one to read, if it is a
// system socket; the userspace stack's UDP has no such wait (a
// zero-length read would consume the datagram), so its read holds a
// buffer while it waits.
func waitDatagram(c net.Conn) {
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			waitRawReadable(rc)
		}
	}
}

// activity is the time of the last byte a relay moved, in nanoseconds
// since its start on the monotonic clock.
type activity struct {
	start time.Time
	last  atomic.Int64
}

func (a *activity) touch()              { a.last.Store(int64(time.Since(a.start))) }
func (a *activity) idle() time.Duration { return time.Since(a.start) - time.Duration(a.last.Load()) }

// idleCloser closes a relay's two connections once it has been idle for
// d: a timer, not a goroutine, that re-arms itself for the rest of the
// period whenever a byte moved meanwhile.
type idleCloser struct {
	mu   sync.Mutex
	t    *time.Timer
	d    time.Duration
	act  *activity
	a, b net.Conn
}

func (c *idleCloser) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if idle := c.act.idle(); idle < c.d {
		c.t.Reset(c.d - idle)
		return
	}
	c.a.Close()
	c.b.Close()
}

// relay copies between a and b in both directions until both are done,
// half-closing each side when the other reaches EOF, then closes both. If
// idle is positive, both close once no byte has moved either way for that
// long. It returns the bytes copied a→b and b→a.
func relay(a, b net.Conn, idle time.Duration) (ab, ba int64) {
	act := &activity{start: time.Now()}
	if idle > 0 {
		ic := &idleCloser{d: idle, act: act, a: a, b: b}
		ic.mu.Lock()
		ic.t = time.AfterFunc(idle, ic.fire)
		ic.mu.Unlock()
		defer func() {
			ic.mu.Lock()
			ic.t.Stop()
			ic.mu.Unlock()
		}()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ba = copyHalf(a, b, act)
	}()
	ab = copyHalf(b, a, act)
	wg.Wait()
	a.Close()
	b.Close()
	return ab, ba
}

// copyHalf copies src to dst, then half-closes dst (or closes both when
// half-closing is impossible or the copy failed, which also ends the
// other direction). It takes a buffer from the pool when src becomes
// readable and gives it back as soon as a read does not fill it.
func copyHalf(dst, src net.Conn, act *activity) int64 {
	var n int64
	var err error
	for err == nil {
		waitReadable(src)
		bp := relayBufs.Get().(*[]byte)
		buf := *bp
		for {
			var r int
			r, err = src.Read(buf)
			if r > 0 {
				act.touch()
				var w int
				w, werr := dst.Write(buf[:r])
				n += int64(w)
				act.touch()
				if werr != nil {
					err = werr
					break
				}
			}
			if err != nil || r < len(buf) {
				break
			}
		}
		relayBufs.Put(bp)
	}
	cw, ok := dst.(closeWriter)
	if !errors.Is(err, io.EOF) || !ok || cw.CloseWrite() != nil {
		dst.Close()
		src.Close()
	}
	return n
}

// tracker remembers a server's live connections and goroutines so that
// Close can end them all and wait for them.
type tracker struct {
	mu     sync.Mutex
	closed bool
	conns  map[io.Closer]struct{}
	wg     sync.WaitGroup
}

// add registers c, or closes it and returns false once the server is closed.
func (t *tracker) add(c io.Closer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return false
	}
	if t.conns == nil {
		t.conns = make(map[io.Closer]struct{})
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *tracker) remove(c io.Closer) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// goroutine runs f in a goroutine Close waits for, unless closed.
func (t *tracker) goroutine(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
	return true
}

// close closes every registered connection and waits for the goroutines.
func (t *tracker) close() {
	t.mu.Lock()
	t.closed = true
	for c := range t.conns {
		c.Close()
	}
	t.conns = nil
	t.mu.Unlock()
	t.wg.Wait()
}

// serve accepts on l until it fails, running handle for each connection in
// a tracked goroutine. Each connection is first admitted by lim: one it
// refuses is closed at once (lim logs that). It returns nil once l is
// closed by the tracker's owner.
func (t *tracker) serve(l net.Listener, lim *Limiter, handle func(net.Conn)) error {
	if !t.add(l) {
		return net.ErrClosed
	}
	defer t.remove(l)
	for {
		c, err := l.Accept()
		if err != nil {
			t.mu.Lock()
			closed := t.closed
			t.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		lc, err := lim.admitConn(c)
		if err != nil {
			c.Close()
			continue
		}
		c = lc
		if !t.add(c) {
			return nil
		}
		if !t.goroutine(func() {
			defer t.remove(c)
			defer c.Close()
			handle(c)
		}) {
			c.Close()
			return nil
		}
	}
}
