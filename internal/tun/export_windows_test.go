//go:build windows

package tun

import (
	"testing"

	"golang.org/x/sys/windows"
)

// NewFailingWintun returns a Wintun on a fake session (no driver) and a
// function that makes its ring report err, for tests outside the package
// (the engine's reaction to a failed adapter).
func NewFailingWintun(t *testing.T) (*Wintun, func(err windows.Errno)) {
	f := newFakeWintun(t)
	return f.Wintun, func(err windows.Errno) { f.s.deliver(err) }
}
