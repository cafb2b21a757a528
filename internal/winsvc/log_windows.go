package winsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/warren-vpn/warren/internal/ringlog"
)

// DefaultLogDir is %ProgramFiles%\warren\Data\Logs, beside the
// configuration store.
func DefaultLogDir() (string, error) {
	store, err := DefaultStoreDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(store), "Logs"), nil
}

// TunnelLogPath is tunnel's ring log: NAME.bin in DefaultLogDir.
func TunnelLogPath(tunnel string) (string, error) {
	if err := ValidTunnelName(tunnel); err != nil {
		return "", err
	}
	dir, err := DefaultLogDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, tunnel+LogExt), nil
}

// OpenTunnelLog opens tunnel's ring log for writing, for the tunnel
// service: it creates the log folder if needed and gives it SYSTEM's and
// the Administrators' DACL only (SecureDir, every time), which the file
// inherits. Opens in one process share one writer; close each.
//
// Write the service's messages with LogTagService (and LogTagError), the
// engine's device.Logger with Printf(LogTagTunnel) and Printf(LogTagError),
// and wintunnel.Options.Warn with Println(LogTagWarning).
func OpenTunnelLog(tunnel string) (*ringlog.Log, error) {
	path, err := TunnelLogPath(tunnel)
	if err != nil {
		return nil, err
	}
	return openLogIn(filepath.Dir(path), tunnel)
}

// openLogIn opens tunnel's ring log in dir, securing dir first. A dir
// that is a link is refused before its DACL is set (which would follow it);
// ringlog refuses a log file that is one.
func openLogIn(dir, tunnel string) (*ringlog.Log, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tunnel log: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("tunnel log: %w", err)
	}
	if isReparsePoint(fi) || !fi.IsDir() {
		return nil, fmt.Errorf("tunnel log: %s %w", dir, ErrReparsePoint)
	}
	if err := SecureDir(dir); err != nil {
		return nil, fmt.Errorf("tunnel log: %w", err)
	}
	l, err := ringlog.Open(filepath.Join(dir, tunnel+LogExt), ringlog.Options{})
	if err != nil {
		return nil, fmt.Errorf("tunnel log: %w", err)
	}
	return l, nil
}

// showLog runs `warren log [--no-follow] NAME`: as an administrator, it
// prints the tunnel's log and, unless told not to, follows it until
// Ctrl-C.
func showLog(cmd Command, stdout io.Writer) error {
	if err := requireAdmin("warren log"); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	path, err := TunnelLogPath(cmd.Tunnel)
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	return showLogAt(ctx, path, cmd, stdout)
}

// showLogAt prints (and follows) the log at path until ctx is done.
func showLogAt(ctx context.Context, path string, cmd Command, stdout io.Writer) error {
	r, err := ringlog.OpenReader(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("log: tunnel %s has no log at %s: its service has not run on this machine", cmd.Tunnel, path)
	}
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	defer r.Close()
	if err := printLog(ctx, r, !cmd.NoFollow, 0, stdout); err != nil {
		return fmt.Errorf("log: tunnel %s: %w", cmd.Tunnel, err)
	}
	return nil
}
