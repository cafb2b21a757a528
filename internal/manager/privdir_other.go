//go:build !unix && !windows

package manager

import (
	"fmt"
	"runtime"
)

// ensurePrivateDir: a platform without a notion of a private directory
// here (neither unix nor Windows) cannot keep the manager's state safe.
func ensurePrivateDir(dir string) error {
	return fmt.Errorf("%s on %s: %w", dir, runtime.GOOS, ErrNotSupported)
}
