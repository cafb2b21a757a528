//go:build !unix

package manager

import (
	"fmt"
	"runtime"
)

// ensurePrivateDir: on Windows the state directory must carry a DACL for
// SYSTEM and Administrators only (as winsvc's store does); until that
// backend is written the manager refuses to start there.
func ensurePrivateDir(dir string) error {
	return fmt.Errorf("%s on %s: %w", dir, runtime.GOOS, ErrNotSupported)
}
