package uapi

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
	"unsafe"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// pipeListener serves a named pipe: it always keeps one instance waiting
// for a client (so that a client never finds the pipe gone between two
// connections) and hands each connected instance to go-winio, whose
// completion-port I/O gives the connection deadlines and cancellation.
//
// It does not use winio.ListenPipe because that parks its first instance
// in a state that is "disconnected" on Windows but accepts (and then never
// serves) a client under wine, where CI runs the Windows tests.
type pipeListener struct {
	path   string
	sd     *windows.SECURITY_DESCRIPTOR // kept alive for new instances
	closed windows.Handle               // manual-reset event, set by Close

	acceptMu sync.Mutex     // one Accept at a time
	next     windows.Handle // the instance waiting for a client; 0 if none

	closeOnce sync.Once
}

// listenPipe creates the pipe's first instance, failing if the pipe exists.
func listenPipe(path, sddl string) (*pipeListener, error) {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return nil, fmt.Errorf("security descriptor %q: %w", sddl, err)
	}
	closed, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("create event: %w", err)
	}
	l := &pipeListener{path: path, sd: sd, closed: closed}
	h, err := l.newInstance(true)
	if err != nil {
		windows.CloseHandle(closed)
		return nil, err
	}
	l.next = h
	return l, nil
}

// newInstance creates an instance of the pipe; the first one must be new.
func (l *pipeListener) newInstance(first bool) (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString(l.path)
	if err != nil {
		return 0, err
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: l.sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	flags := uint32(windows.PIPE_ACCESS_DUPLEX | windows.FILE_FLAG_OVERLAPPED)
	if first {
		flags |= windows.FILE_FLAG_FIRST_PIPE_INSTANCE
	}
	mode := uint32(windows.PIPE_TYPE_BYTE | windows.PIPE_READMODE_BYTE | windows.PIPE_WAIT | windows.PIPE_REJECT_REMOTE_CLIENTS)
	h, err := windows.CreateNamedPipe(name, flags, mode, windows.PIPE_UNLIMITED_INSTANCES, pipeBufferSize, pipeBufferSize, 0, sa)
	if err != nil {
		return 0, fmt.Errorf("create pipe instance: %w", err)
	}
	return h, nil
}

// Accept waits for a client on the waiting instance, puts a fresh instance
// in its place and returns the connection.
func (l *pipeListener) Accept() (net.Conn, error) {
	l.acceptMu.Lock()
	defer l.acceptMu.Unlock()
	for {
		if l.isClosed() {
			return nil, net.ErrClosed
		}
		if l.next == 0 {
			h, err := l.newInstance(false)
			if err != nil {
				return nil, fmt.Errorf("accept %s: %w", l.path, err)
			}
			l.next = h
		}
		h := l.next
		ok, err := l.connect(h)
		if err != nil {
			return nil, err
		}
		l.next = 0
		if !ok { // the client left before we saw it; try again
			windows.CloseHandle(h)
			continue
		}
		f, err := winio.NewOpenFile(h)
		if err != nil {
			windows.CloseHandle(h)
			return nil, fmt.Errorf("accept %s: %w", l.path, err)
		}
		wf, ok := f.(winioFile)
		if !ok {
			f.Close()
			return nil, fmt.Errorf("accept %s: go-winio file %T lacks deadlines", l.path, f)
		}
		return &pipeConn{winioFile: wf, path: l.path}, nil
	}
}

// connect waits for a client on h, or for Close (net.ErrClosed). ok is
// false if the client went away before the connection completed.
func (l *pipeListener) connect(h windows.Handle) (ok bool, err error) {
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return false, fmt.Errorf("accept %s: create event: %w", l.path, err)
	}
	defer windows.CloseHandle(ev)
	ov := &windows.Overlapped{HEvent: ev}
	err = windows.ConnectNamedPipe(h, ov)
	switch {
	case err == nil, errors.Is(err, windows.ERROR_PIPE_CONNECTED):
		return true, nil
	case errors.Is(err, windows.ERROR_NO_DATA): // connected and already closed
		return false, nil
	case !errors.Is(err, windows.ERROR_IO_PENDING):
		return false, fmt.Errorf("accept %s: %w", l.path, err)
	}
	r, err := windows.WaitForMultipleObjects([]windows.Handle{ev, l.closed}, false, windows.INFINITE)
	if err != nil || r != windows.WAIT_OBJECT_0 {
		windows.CancelIoEx(h, ov)
	}
	var n uint32
	err = windows.GetOverlappedResult(h, ov, &n, true)
	switch {
	case err == nil:
		return true, nil
	case l.isClosed():
		return false, net.ErrClosed
	case errors.Is(err, windows.ERROR_NO_DATA), errors.Is(err, windows.ERROR_BROKEN_PIPE):
		return false, nil
	}
	return false, fmt.Errorf("accept %s: %w", l.path, err)
}

func (l *pipeListener) isClosed() bool {
	r, _ := windows.WaitForSingleObject(l.closed, 0)
	return r == windows.WAIT_OBJECT_0
}

// Close stops Accept and closes the waiting instance; the pipe goes away
// once the accepted connections are closed too.
func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() {
		windows.SetEvent(l.closed)
		l.acceptMu.Lock()
		defer l.acceptMu.Unlock()
		if l.next != 0 {
			windows.CloseHandle(l.next)
			l.next = 0
		}
	})
	return nil
}

// Addr is the pipe's path.
func (l *pipeListener) Addr() net.Addr { return pipeAddr(l.path) }

// pipeConn is one accepted client: go-winio's file with net.Conn's methods.
type pipeConn struct {
	winioFile
	path string
}

// winioFile is what winio.NewOpenFile returns.
type winioFile interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
	Close() error
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	Fd() uintptr
}

func (c *pipeConn) LocalAddr() net.Addr  { return pipeAddr(c.path) }
func (c *pipeConn) RemoteAddr() net.Addr { return pipeAddr(c.path) }
func (c *pipeConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

// pipeAddr is a pipe's path as a net.Addr.
type pipeAddr string

func (pipeAddr) Network() string  { return "pipe" }
func (a pipeAddr) String() string { return string(a) }
