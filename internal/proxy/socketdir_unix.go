//go:build !windows

package proxy

import (
	"os"
	"path/filepath"

	"github.com/warren-vpn/warren/internal/safedir"
)

// ensurePrivateDir creates dir 0700 if it is missing, and refuses it (an
// error matching safedir.ErrUnsafe) if it, or a directory above it, is a
// link somebody else could have planted, someone else's, or writable by
// others.
func ensurePrivateDir(dir string) error { return safedir.Ensure(dir, 0o700) }

// restrictSocket makes the socket readable and writable by its owner only.
func restrictSocket(dir, name string) error {
	return os.Chmod(filepath.Join(dir, name+".sock"), 0o600)
}
