//go:build !linux && !windows

package manager

import (
	"fmt"
	"runtime"
)

// Platform returns this platform's System and Store. Only Linux (wg-quick
// configurations, `warren up`) and Windows (the tunnel services) have
// them.
func Platform(configDir string, allowHooks bool) (System, Store, error) {
	return nil, nil, fmt.Errorf("the manager on %s: %w", runtime.GOOS, ErrNotSupported)
}

// DefaultConfigDir is where wg-quick keeps its configurations.
func DefaultConfigDir() string { return "/etc/wireguard" }

// DefaultStateDir is the manager's own state.
func DefaultStateDir() string { return "/var/lib/warren/manager" }
