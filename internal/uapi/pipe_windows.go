package uapi

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
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
	path       string
	sd         *windows.SECURITY_DESCRIPTOR // kept alive for new instances
	claimOwner bool                         // sd's owner may need SeRestorePrivilege
	// closed is a manual-reset event, set by Close to wake a waiting
	// Accept; Close closes it once no Accept can be using it (done is set
	// and acceptMu held), so only Accept, under acceptMu, reads it.
	closed windows.Handle
	done   atomic.Bool // Close was called

	acceptMu sync.Mutex     // one Accept at a time
	next     windows.Handle // the instance waiting for a client; 0 if none

	closeOnce sync.Once
}

// listenPipe creates the pipe's first instance, failing if the pipe exists.
// claimOwner says sddl names an owner that the caller may only assign with
// SeRestorePrivilege (see createPipe).
func listenPipe(path, sddl string, claimOwner bool) (*pipeListener, error) {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return nil, fmt.Errorf("security descriptor %q: %w", sddl, err)
	}
	closed, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("create event: %w", err)
	}
	l := &pipeListener{path: path, sd: sd, claimOwner: claimOwner, closed: closed}
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
	create := func() (windows.Handle, error) {
		return windows.CreateNamedPipe(name, flags, mode, windows.PIPE_UNLIMITED_INSTANCES, pipeBufferSize, pipeBufferSize, 0, sa)
	}
	h, err := createPipe(create, l.claimOwner)
	if err != nil {
		return 0, fmt.Errorf("create pipe instance: %w", err)
	}
	return h, nil
}

// createPipe runs create. When claimOwner is set and Windows refuses the
// security descriptor's owner (ERROR_INVALID_OWNER: the owner is neither
// the caller nor one of its groups that may own objects, as SYSTEM is not
// for an elevated administrator), it runs create again with
// SeRestorePrivilege enabled, which lets a token assign any owner. The
// privilege is enabled on a copy of the process token that only the
// creating thread wears, for the call only; the process's own token is
// left as it is.
func createPipe(create func() (windows.Handle, error), claimOwner bool) (windows.Handle, error) {
	h, err := create()
	if err == nil || !claimOwner || !errors.Is(err, windows.ERROR_INVALID_OWNER) {
		return h, err
	}
	err = withRestorePrivilege(func() error {
		var err error
		h, err = create()
		return err
	})
	return h, err
}

// errNoRestorePrivilege is wrapped when the process does not hold
// SeRestorePrivilege (it is not an elevated administrator or SYSTEM).
var errNoRestorePrivilege = errors.New("the process does not hold SeRestorePrivilege")

// withRestorePrivilege runs fn on a thread of its own that impersonates a
// copy of the process token with SeRestorePrivilege enabled.
func withRestorePrivilege(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := impersonateWithRestorePrivilege(); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		err := fn()
		if rerr := windows.RevertToSelf(); rerr != nil {
			// The thread still wears the privileged token: leave it locked,
			// so that it ends with this goroutine.
			errc <- errors.Join(err, fmt.Errorf("revert to self: %w", rerr))
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// impersonateWithRestorePrivilege makes the calling (locked) thread wear a
// copy of the process token with SeRestorePrivilege enabled.
func impersonateWithRestorePrivilege() error {
	var proc windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY, &proc); err != nil {
		return fmt.Errorf("open process token: %w", err)
	}
	defer proc.Close()
	var tok windows.Token
	if err := windows.DuplicateTokenEx(proc, windows.TOKEN_ADJUST_PRIVILEGES|windows.TOKEN_IMPERSONATE|windows.TOKEN_QUERY,
		nil, windows.SecurityImpersonation, windows.TokenImpersonation, &tok); err != nil {
		return fmt.Errorf("duplicate process token: %w", err)
	}
	defer tok.Close()
	var luid windows.LUID
	if err := windows.LookupPrivilegeValue(nil, windows.StringToUTF16Ptr("SeRestorePrivilege"), &luid); err != nil {
		return fmt.Errorf("look up SeRestorePrivilege: %w", err)
	}
	tp := windows.Tokenprivileges{PrivilegeCount: 1}
	tp.Privileges[0] = windows.LUIDAndAttributes{Luid: luid, Attributes: windows.SE_PRIVILEGE_ENABLED}
	if err := windows.AdjustTokenPrivileges(tok, false, &tp, 0, nil, nil); err != nil {
		return fmt.Errorf("enable SeRestorePrivilege: %w", err)
	}
	// A privilege the token lacks is "not all assigned", which the call
	// reports as success: look.
	if enabled, err := privilegeEnabled(tok, luid); err != nil || !enabled {
		return errors.Join(errNoRestorePrivilege, err)
	}
	if err := windows.SetThreadToken(nil, tok); err != nil {
		return fmt.Errorf("impersonate with SeRestorePrivilege: %w", err)
	}
	return nil
}

// privilegeEnabled reports whether the privilege luid is enabled in tok.
func privilegeEnabled(tok windows.Token, luid windows.LUID) (bool, error) {
	var n uint32
	windows.GetTokenInformation(tok, windows.TokenPrivileges, nil, 0, &n)
	if n == 0 {
		return false, fmt.Errorf("token privileges: empty")
	}
	buf := make([]byte, n)
	if err := windows.GetTokenInformation(tok, windows.TokenPrivileges, &buf[0], n, &n); err != nil {
		return false, fmt.Errorf("token privileges: %w", err)
	}
	tp := (*windows.Tokenprivileges)(unsafe.Pointer(&buf[0]))
	for _, p := range tp.AllPrivileges() {
		if p.Luid == luid {
			return p.Attributes&windows.SE_PRIVILEGE_ENABLED != 0, nil
		}
	}
	return false, nil
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

// isClosed reports whether Close was called. Callers hold acceptMu.
func (l *pipeListener) isClosed() bool { return l.done.Load() }

// Close stops Accept and closes the waiting instance and the event; the
// pipe goes away once the accepted connections are closed too.
func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() {
		l.done.Store(true)
		windows.SetEvent(l.closed) // wake an Accept waiting for a client
		l.acceptMu.Lock()
		defer l.acceptMu.Unlock()
		if l.next != 0 {
			windows.CloseHandle(l.next)
			l.next = 0
		}
		windows.CloseHandle(l.closed)
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
