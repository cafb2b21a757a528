package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/warren-vpn/warren/internal/device"
)

// envKeyLog names a file the device writes every handshake's keys to, in
// the format of Wireshark's WireGuard key log (its wg.keylog_file
// preference), for decrypting captures while debugging. Off unless set.
const envKeyLog = "WARREN_KEYLOG"

// ErrKeyLogUnsafe is wrapped by the errors of a key log file that others
// could read or that is not a plain file of ours.
var ErrKeyLogUnsafe = errors.New("unsafe key log file")

// openKeyLog opens the key log WARREN_KEYLOG names, for appending: it
// returns nil and "" when the variable is unset or empty, else the file
// and its absolute path. A missing file is created with mode 0600. An
// existing one must be a regular file (not a symbolic link, not a device
// or FIFO), owned by this process's user and readable or writable by
// nobody else (mode 0600 or narrower); otherwise nothing is opened and the
// error, wrapping ErrKeyLogUnsafe, says why.
func openKeyLog() (*os.File, string, error) {
	path := os.Getenv(envKeyLog)
	if path == "" {
		return nil, "", nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s=%s: %w", envKeyLog, path, err)
	}
	f, err := openKeyLogFile(abs)
	if err != nil {
		return nil, "", fmt.Errorf("%s=%s: %w", envKeyLog, path, err)
	}
	return f, abs, nil
}

// openKeyLogFile opens or creates path as openKeyLog says.
func openKeyLogFile(path string) (*os.File, error) {
	const flags = unix.O_WRONLY | unix.O_APPEND | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK
	fd, err := unix.Open(path, flags|unix.O_CREAT|unix.O_EXCL, 0o600)
	created := err == nil
	if errors.Is(err, unix.EEXIST) {
		// There already: check what it is before opening it, so that
		// opening has no effect on a device or FIFO (O_NONBLOCK covers one
		// swapped in between; the descriptor is checked again below).
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return nil, fmt.Errorf("inspect key log: %w", err)
		}
		if err := keyLogSafe(&st); err != nil {
			return nil, err
		}
		fd, err = unix.Open(path, flags, 0)
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%w: it is a symbolic link", ErrKeyLogUnsafe)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open key log: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inspect key log: %w", err)
	}
	if err := keyLogSafe(&st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if created {
		// The umask may only have narrowed 0600; make it exactly that.
		if err := unix.Fchmod(fd, 0o600); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("set key log mode: %w", err)
		}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open key log: %w", err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// keyLogSafe checks that st is a regular file of this process's user that
// nobody else may read or write.
func keyLogSafe(st *unix.Stat_t) error {
	mode := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFLNK:
		return fmt.Errorf("%w: it is a symbolic link", ErrKeyLogUnsafe)
	default:
		return fmt.Errorf("%w: it is not a regular file", ErrKeyLogUnsafe)
	}
	if uid := uint32(os.Geteuid()); st.Uid != uid {
		return fmt.Errorf("%w: it belongs to uid %d, not to uid %d", ErrKeyLogUnsafe, st.Uid, uid)
	}
	if mode&0o077 != 0 || st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		return fmt.Errorf("%w: its mode %04o lets others read or write it (want 0600)", ErrKeyLogUnsafe, st.Mode&0o7777)
	}
	return nil
}

// warnKeyLog says loudly, at the error level that is logged by default,
// that session keys are being written.
func warnKeyLog(logger *device.Logger, path string) {
	logger.Errorf("WARNING: %s is set: the keys of every handshake are written to %s; "+
		"anyone who can read that file can decrypt this interface's traffic. Unset it when you are done debugging.", envKeyLog, path)
}
