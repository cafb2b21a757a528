//go:build !linux && !windows

package tun

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Create is not implemented on this platform yet; Wintun (Windows) and
// utun (macOS) come with their own issues. The error wraps
// errors.ErrUnsupported.
func Create(name string, mtu int) (Device, error) {
	return nil, fmt.Errorf("create tun %q: TUN devices are not supported on %s yet: %w", name, runtime.GOOS, errors.ErrUnsupported)
}

// CreateFromFile is not implemented on this platform yet. It closes f.
func CreateFromFile(f *os.File, mtu int) (Device, error) {
	f.Close()
	return nil, fmt.Errorf("tun from fd %s: TUN devices are not supported on %s yet: %w", f.Name(), runtime.GOOS, errors.ErrUnsupported)
}
