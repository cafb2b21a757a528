package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
)

// relayBufSize is the copy buffer of each direction of a relay: large
// reads amortize the userspace stack's per-call cost.
const relayBufSize = 256 << 10

// closeWriter is a connection that can half-close (TCP, on both stacks).
type closeWriter interface{ CloseWrite() error }

// relay copies between a and b in both directions until both are done,
// half-closing each side when the other reaches EOF, then closes both. It
// returns the bytes copied a→b and b→a.
func relay(a, b net.Conn) (ab, ba int64) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ba = copyHalf(a, b)
	}()
	ab = copyHalf(b, a)
	wg.Wait()
	a.Close()
	b.Close()
	return ab, ba
}

// copyHalf copies src to dst, then half-closes dst (or closes both when
// half-closing is impossible or the copy failed, which also ends the
// other direction).
func copyHalf(dst, src net.Conn) int64 {
	buf := make([]byte, relayBufSize)
	// Hide ReaderFrom/WriterTo so that our buffer size is used.
	n, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, buf)
	cw, ok := dst.(closeWriter)
	if err != nil && !errors.Is(err, io.EOF) || !ok {
		dst.Close()
		src.Close()
		return n
	}
	cw.CloseWrite()
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
// a tracked goroutine. It returns nil once l is closed by the tracker's
// owner.
func (t *tracker) serve(l net.Listener, handle func(net.Conn)) error {
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
