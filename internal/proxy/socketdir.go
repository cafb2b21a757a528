package proxy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/warren-vpn/warren/internal/uapi"
)

// SocketDirName is the directory under $XDG_RUNTIME_DIR that holds the
// control sockets of rootless tunnels.
const SocketDirName = "warren"

// ErrNoRuntimeDir is returned by SocketDir when XDG_RUNTIME_DIR is unset
// and the process is not root.
var ErrNoRuntimeDir = errors.New("XDG_RUNTIME_DIR is not set")

// SocketDir returns the directory of the control (UAPI) socket of a
// tunnel this process runs: $XDG_RUNTIME_DIR/warren, or for root without
// XDG_RUNTIME_DIR uapi.DefaultSocketDir (/var/run/wireguard, which is
// /run/wireguard on Debian), where `wg show` and `warren show` look.
func SocketDir() (string, error) {
	dir, _, err := socketDirFor(os.Getenv, os.Geteuid())
	return dir, err
}

// socketDirFor is SocketDir's choice for an environment and an effective
// user id (-1 on Windows); private reports a directory of the user's own
// (made 0700 if missing), as opposed to the system's.
func socketDirFor(getenv func(string) string, euid int) (dir string, private bool, err error) {
	if rt := getenv("XDG_RUNTIME_DIR"); rt != "" {
		return filepath.Join(rt, SocketDirName), true, nil
	}
	if euid == 0 {
		return uapi.DefaultSocketDir, false, nil
	}
	return "", false, ErrNoRuntimeDir
}

// listenUAPI opens the control socket NAME.sock in SocketDir's directory:
// a private directory is checked (or created 0700) with internal/safedir
// first, the system's is checked by uapi.Listen; the socket is the user's
// own, mode 0600.
func listenUAPI(name string) (net.Listener, error) {
	dir, private, err := socketDirFor(os.Getenv, os.Geteuid())
	if err != nil {
		return nil, err
	}
	if private {
		if err := ensurePrivateDir(dir); err != nil {
			return nil, fmt.Errorf("socket directory: %w", err)
		}
	}
	l, err := uapi.Listen(dir, name)
	if err != nil {
		return nil, err
	}
	if err := restrictSocket(dir, name); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}
