//go:build unix

package manager

import "github.com/warren-vpn/warren/internal/safedir"

// ensurePrivateDir creates dir 0700, or checks the one there: the
// caller's own, no symlinks, nobody else may write it or a directory
// above it (see safedir.Ensure).
func ensurePrivateDir(dir string) error { return safedir.Ensure(dir, 0o700) }
