//go:build !windows

package uapi

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/warren-vpn/warren/internal/safedir"
)

// socketSuffix ends every UAPI socket's file name.
const socketSuffix = ".sock"

// socketMode is the UAPI socket's permission: the owner (root) only, as
// wireguard-go's umask of 077 leaves it. Connecting needs write permission.
const socketMode = 0o700

// dialTimeout bounds the liveness probe of an existing socket.
const dialTimeout = time.Second

// socketPath is dir/name.sock.
func socketPath(dir, name string) string { return filepath.Join(dir, name+socketSuffix) }

// Listen listens on the unix socket dir/name.sock, creating dir (0755) if
// needed. dir must be safe to keep a root-only socket in (see
// safedir.Ensure): a real directory of the calling user that nobody else
// may write to, or Listen fails with an error matching safedir.ErrUnsafe. The socket is only accessible to its owner from the moment it
// appears: it is bound inside a private temporary directory, restricted,
// then linked into place. An existing socket that nobody answers on (left by
// a crashed daemon) is replaced; one that answers is left alone and Listen
// fails with ErrSocketInUse; a path that is not a socket is left alone too.
// Closing the listener removes the socket file if it is still this one.
//
// On unix the listener also has File() (*os.File, error) and
// SetUnlinkOnClose(bool), as *net.UnixListener does, for handing the socket
// to another process.
func Listen(dir, name string) (net.Listener, error) {
	if err := ValidName(name); err != nil {
		return nil, fmt.Errorf("uapi: listen: %w", err)
	}
	if err := safedir.Ensure(dir, 0o755); err != nil {
		return nil, fmt.Errorf("uapi: listen: socket directory: %w", err)
	}
	path := socketPath(dir, name)
	stale, err := probe(path)
	if err != nil {
		return nil, fmt.Errorf("uapi: listen %s: %w", path, err)
	}

	tmpDir, err := os.MkdirTemp(dir, "."+name+"-") // mode 0700
	if err != nil {
		return nil, fmt.Errorf("uapi: listen %s: %w", path, err)
	}
	defer os.RemoveAll(tmpDir)
	tmpPath := filepath.Join(tmpDir, "s")
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmpPath, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("uapi: listen %s: %w", path, err)
	}
	ul.SetUnlinkOnClose(false) // the socket will not live at tmpPath
	fail := func(err error) (net.Listener, error) {
		ul.Close()
		return nil, fmt.Errorf("uapi: listen %s: %w", path, err)
	}
	if err := os.Chmod(tmpPath, socketMode); err != nil {
		return fail(err)
	}
	if stale {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fail(err)
		}
	}
	// Link, unlike rename, fails if another listener won a race for path.
	if err := os.Link(tmpPath, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			err = fmt.Errorf("%w: %w", ErrSocketInUse, err)
		}
		return fail(err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &unixListener{ul: ul, path: path, fi: fi}, nil
}

// probe inspects an existing path: it reports stale for a socket nobody
// answers on, and an error for a live socket or a path that is no socket.
func probe(path string) (stale bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return false, fmt.Errorf("%w: exists and is not a socket", fs.ErrExist)
	}
	c, err := net.DialTimeout("unix", path, dialTimeout)
	if err == nil {
		c.Close()
		return false, ErrSocketInUse
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true, nil
	}
	return false, fmt.Errorf("probe existing socket: %w", err)
}

// unixListener removes its socket file when closed. Besides net.Listener it
// offers File and SetUnlinkOnClose, as *net.UnixListener does, so that a
// daemon can hand the socket to a child process.
type unixListener struct {
	ul        *net.UnixListener
	path      string
	fi        fs.FileInfo
	mu        sync.Mutex
	keepFile  bool // SetUnlinkOnClose(false)
	closeOnce sync.Once
	closeErr  error
}

// File returns a duplicate of the listening socket's descriptor.
func (l *unixListener) File() (*os.File, error) {
	f, err := l.ul.File()
	if err != nil {
		return nil, fmt.Errorf("uapi: socket file: %w", err)
	}
	return f, nil
}

// SetUnlinkOnClose sets whether Close removes the socket file (it does by
// default); a process handing the socket over to another turns it off.
func (l *unixListener) SetUnlinkOnClose(unlink bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keepFile = !unlink
}

func (l *unixListener) Accept() (net.Conn, error) { return l.ul.Accept() }

// Addr is the socket's final path.
func (l *unixListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

// Close stops listening and removes the socket file unless it has been
// replaced by someone else's meanwhile.
func (l *unixListener) Close() error {
	l.closeOnce.Do(func() {
		l.closeErr = l.ul.Close()
		l.mu.Lock()
		keep := l.keepFile
		l.mu.Unlock()
		if keep {
			return
		}
		if cur, err := os.Lstat(l.path); err == nil && os.SameFile(cur, l.fi) {
			if err := os.Remove(l.path); err != nil && l.closeErr == nil {
				l.closeErr = fmt.Errorf("uapi: remove socket: %w", err)
			}
		}
	})
	return l.closeErr
}

// Dial connects to the UAPI socket of interface name in dir. A missing
// socket gives an error matching fs.ErrNotExist.
func Dial(dir, name string) (net.Conn, error) {
	if err := ValidName(name); err != nil {
		return nil, fmt.Errorf("uapi: dial: %w", err)
	}
	c, err := net.Dial("unix", socketPath(dir, name))
	if err != nil {
		return nil, fmt.Errorf("uapi: dial %s: %w", name, err)
	}
	return c, nil
}

// Interfaces lists the interfaces with a UAPI socket in dir, sorted. Files
// that are not sockets or do not carry a valid name are skipped, and so are
// sockets that refuse connections (left over by a dead daemon; Interfaces
// does not remove them). A missing dir has no interfaces.
func Interfaces(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("uapi: list interfaces: %w", err)
	}
	var names []string
	for _, ent := range ents {
		name, ok := strings.CutSuffix(ent.Name(), socketSuffix)
		if !ok || ent.Type() != fs.ModeSocket || ValidName(name) != nil {
			continue
		}
		c, err := net.DialTimeout("unix", socketPath(dir, name), dialTimeout)
		if err == nil {
			c.Close()
		} else if errors.Is(err, syscall.ECONNREFUSED) {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}
