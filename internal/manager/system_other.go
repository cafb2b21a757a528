//go:build !linux

package manager

import (
	"fmt"
	"runtime"
)

// Platform returns this platform's System and Store. Only Linux has them
// so far: on Windows they will drive the tunnel services and the DPAPI
// store through internal/winsvc.
func Platform(configDir string) (System, Store, error) {
	return nil, nil, fmt.Errorf("the manager on %s: %w", runtime.GOOS, ErrNotSupported)
}
