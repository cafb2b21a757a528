//go:build !windows

package safedir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrUnsafe is wrapped by every refusal: the directory (or one above it)
// is a symlink where none may be, belongs to another user, or can be
// written by others.
var ErrUnsafe = errors.New("unsafe directory")

// Ensure makes sure dir exists and is fit to hold the calling user's
// private files, creating it and any missing directories above it with
// perm (which must not grant group or others write). It checks, without
// following symlinks:
//   - dir itself, and every directory Ensure created: a real directory
//     (not a symlink), owned by the effective user, not writable by group
//     or others;
//   - every directory above it that already existed: owned by root or the
//     effective user, and not writable by group or others unless sticky
//     (as /tmp is). A symlink above it (Debian's /var/run → /run) is
//     allowed when root or the user owns the link, and is checked where
//     it leads.
//
// The error names the path, what is wrong and how to fix it.
func Ensure(dir string, perm os.FileMode) error {
	if perm&0o022 != 0 {
		return fmt.Errorf("ensure %s: mode %v lets others write: %w", dir, perm, ErrUnsafe)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("ensure %s: %w", dir, err)
	}
	return ensure(filepath.Clean(abs), perm, os.Geteuid(), 0)
}

// ensure checks path's ancestors (recursively, resolving their symlinks)
// and then path itself. depth bounds symlink chains.
func ensure(path string, perm os.FileMode, euid, depth int) error {
	if depth > 40 {
		return fmt.Errorf("ensure %s: too many levels of symbolic links: %w", path, ErrUnsafe)
	}
	parent := filepath.Dir(path)
	if parent != path {
		real, err := ancestor(parent, perm, euid, depth)
		if err != nil {
			return err
		}
		path = filepath.Join(real, filepath.Base(path))
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(path, perm); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", path, err)
		}
		fi, err = os.Lstat(path)
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	return checkOwn(path, fi, euid)
}

// ancestor checks an existing (or, when missing, creates) directory above
// the target and returns its real path.
func ancestor(path string, perm os.FileMode, euid, depth int) (string, error) {
	if filepath.Dir(path) == path { // the root
		fi, err := os.Lstat(path)
		if err != nil {
			return "", fmt.Errorf("check %s: %w", path, err)
		}
		return path, checkAncestor(path, fi, euid)
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		// Missing: made like the target, with the same checks.
		if err := ensure(path, perm, euid, depth); err != nil {
			return "", err
		}
		return realpath(path)
	}
	if err != nil {
		return "", fmt.Errorf("check %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if err := checkOwner(path, fi, euid, "symlink"); err != nil {
			return "", err
		}
		if _, err := ancestor(filepath.Dir(path), perm, euid, depth+1); err != nil {
			return "", err
		}
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			return "", fmt.Errorf("check %s: %w", path, err)
		}
		return ancestor(target, perm, euid, depth+1)
	}
	if _, err := ancestor(filepath.Dir(path), perm, euid, depth); err != nil {
		return "", err
	}
	if err := checkAncestor(path, fi, euid); err != nil {
		return "", err
	}
	return realpath(path)
}

func realpath(path string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("check %s: %w", path, err)
	}
	return real, nil
}

// checkOwn: the directory warren keeps its files in.
func checkOwn(path string, fi fs.FileInfo, euid int) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link, not a directory: %w (remove it; warren creates the directory itself)", path, ErrUnsafe)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory: %w", path, ErrUnsafe)
	}
	if uid := owner(fi); uid != euid {
		return fmt.Errorf("%s belongs to uid %d, not to uid %d that runs warren: %w (chown %d %s, or remove it)",
			path, uid, euid, ErrUnsafe, euid, path)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s can be written by group or others (mode %v): %w (chmod go-w %s)", path, fi.Mode().Perm(), ErrUnsafe, path)
	}
	return nil
}

// checkAncestor: a directory above it, which warren did not make.
func checkAncestor(path string, fi fs.FileInfo, euid int) error {
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory: %w", path, ErrUnsafe)
	}
	if err := checkOwner(path, fi, euid, "directory"); err != nil {
		return err
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return fmt.Errorf("%s can be written by group or others (mode %v) and is not sticky, so another user could replace what lies below it: %w",
			path, fi.Mode().Perm(), ErrUnsafe)
	}
	return nil
}

func checkOwner(path string, fi fs.FileInfo, euid int, what string) error {
	if uid := owner(fi); uid != 0 && uid != euid {
		return fmt.Errorf("%s %s belongs to uid %d, neither root nor uid %d that runs warren: %w", what, path, uid, euid, ErrUnsafe)
	}
	return nil
}

func owner(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// OpenFile opens name like os.OpenFile but never follows a symlink in its
// last element (O_NOFOLLOW): a planted link makes it fail (ELOOP).
func OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(name, flag|syscall.O_NOFOLLOW, perm)
	if err != nil && errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("open %s: it is a symbolic link: %w", name, ErrUnsafe)
	}
	return f, err
}

// ReadFile reads name like os.ReadFile without following a symlink in its
// last element; only regular files are read.
func ReadFile(name string) ([]byte, error) {
	f, err := OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: not a regular file: %w", name, ErrUnsafe)
	}
	return io.ReadAll(f)
}
