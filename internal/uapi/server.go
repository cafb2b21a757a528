package uapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

// Handler is what a device offers to the control protocol. Its methods may
// be called concurrently, from one goroutine per connection.
type Handler interface {
	// Apply makes one change, whole or nothing. PeerConfigs are applied in
	// order (the same key may appear twice). Errors wrapping
	// wgtypes.ErrInvalidConfig are reported as EINVAL, wgtypes.ErrPortInUse
	// as EADDRINUSE, an *Error with its own errno, anything else as EIO.
	Apply(cfg *wgtypes.Config) error
	// State returns a snapshot of the device. A Handler that also
	// implements StateStreamer answers gets through StreamState instead.
	State() *wgtypes.Device
}

// Serve accepts connections on l and serves each with ServeConn on its own
// goroutine until l is closed. It then closes the connections still open,
// waits for their goroutines and returns nil; another Accept error is
// returned. logf, which may be nil, receives one line per failed request
// and one per applied request that sets the private key (saying so, never
// showing the key), as wireguard-go's verbose log does.
func Serve(l net.Listener, h Handler, logf func(format string, args ...any)) error {
	logf = orDiscard(logf)
	var (
		mu    sync.Mutex
		conns = make(map[net.Conn]struct{})
		wg    sync.WaitGroup
	)
	defer func() {
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: wait, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				logf("uapi: accept: %v; retrying in %v", err, backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("uapi: accept: %w", err)
		}
		backoff = 0
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			ServeConn(c, h, logf)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		})
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func orDiscard(logf func(string, ...any)) func(string, ...any) {
	if logf == nil {
		return func(string, ...any) {}
	}
	return logf
}

// ServeConn answers requests on c until the client closes it or breaks the
// protocol, then closes c. A set body is parsed completely before Apply is
// called once with it; a body that fails to parse is read to its blank line
// and answered with its errno, and Apply is not called. A request cut short
// by the end of the stream is not applied (answered with EPROTO, if the
// client still listens). An unknown operation closes the connection without
// an answer, as wireguard-go does; so does an over-long line, since the
// stream cannot be resynchronised, after an EINVAL answer if inside a set.
func ServeConn(c io.ReadWriteCloser, h Handler, logf func(format string, args ...any)) {
	defer c.Close()
	logf = orDiscard(logf)
	lr := newLineReader(c)
	w := bufio.NewWriter(c)
	for {
		op, err := lr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				logf("uapi: read request: %v", err)
			}
			return
		}
		var errno int64
		var bulk bool // a set of many peers was served
		switch op {
		case "get=1":
			b, err := lr.r.ReadByte()
			if err != nil {
				return
			}
			if b != '\n' {
				// wireguard-go answers EINVAL and carries on.
				logf("uapi: get: trailing character %q", b)
				errno = errnoInvalid
				break
			}
			if st, ok := h.(StateStreamer); ok {
				if err := WriteGetStream(w, st); err != nil {
					logf("uapi: get: %v", err)
					return // the answer is cut: the client must not take it whole
				}
				break
			}
			dev := h.State()
			if dev == nil {
				logf("uapi: get: handler returned no state")
				errno = errnoIO
				break
			}
			if err := WriteGet(w, dev); err != nil {
				return
			}
		case "set=1":
			var keepOpen bool
			errno, keepOpen, bulk = serveSet(lr, h, logf)
			if !keepOpen {
				if errno != 0 {
					fmt.Fprintf(w, "errno=%d\n\n", -errno)
					w.Flush()
				}
				return
			}
		default:
			logf("uapi: invalid operation %q", clip(op))
			return
		}
		if errno != 0 {
			fmt.Fprintf(w, "errno=%d\n\n", -errno)
		} else {
			w.WriteString("errno=0\n\n")
		}
		if err := w.Flush(); err != nil {
			return
		}
		if bulk {
			// The parsed request (some 150 bytes a peer) is garbage now,
			// and the heap grew to hold it next to the peers it made: give
			// that memory back to the system instead of keeping it for
			// good. After the answer, so the client does not wait for it.
			debug.FreeOSMemory()
		}
	}
}

// serveSet handles one set body and returns the errno to answer (0 for
// none) and whether the connection is still in step with the client.
func serveSet(lr *lineReader, h Handler, logf func(string, ...any)) (errno int64, keepOpen, bulk bool) {
	cfg, ended, err := parseSet(lr, maxPeersOf(h))
	if err != nil {
		logf("%v", err) // "uapi: invalid argument: set request line 2: ..."
		var ue *Error
		errors.As(err, &ue)
		switch {
		case ue.Errno == errnoIO:
			return 0, false, false // the connection is broken
		case errors.Is(err, errLineTooLong):
			return ue.Errno, false, false // answer, but we are lost inside the line
		case !drain(lr):
			return 0, false, false
		}
		return ue.Errno, true, false
	}
	if !ended {
		// The client stopped mid-request (crashed, or half-closed early).
		// Applying part of a change could be destructive: refuse it.
		logf("uapi: set: request ended before its blank line; not applied")
		return errnoProtocol, false, false
	}
	bulk = len(cfg.Peers) >= bulkPeers
	if err := h.Apply(cfg); err != nil {
		logf("uapi: set: %v", err)
		return applyErrno(err), true, bulk
	}
	// As wireguard-go, say that the identity changed; never the key.
	if cfg.PrivateKey != nil {
		if cfg.PrivateKey.IsZero() {
			logf("UAPI: Removing private key")
		} else {
			logf("UAPI: Updating private key")
		}
	}
	return 0, true, bulk
}

// bulkPeers is the size of a set request (in peers) after which the server
// returns the memory it used to the system (a collection of the whole heap,
// which a request this big costs many times over).
const bulkPeers = 1 << 14

// drain reads the rest of a rejected set body, up to its blank line, within
// the usual bounds. It reports whether the blank line was found.
func drain(lr *lineReader) bool {
	for start := lr.n; lr.n-start <= MaxLines; {
		line, err := lr.next()
		if err != nil {
			return false
		}
		if line == "" || line == "\r" {
			return true
		}
	}
	return false
}
