package uapi

import (
	"errors"
	"fmt"
	"net"
)

// The Windows transport is a named pipe (\\.\pipe\ProtectedPrefix\...),
// which comes with a later change. Until then these fail with
// ErrUnsupported.

func unsupported(op string) error {
	return fmt.Errorf("uapi: %s: %w: named-pipe UAPI is not yet supported on Windows (%w)", op, ErrUnsupported, errors.ErrUnsupported)
}

// Listen is not yet supported on Windows.
func Listen(dir, name string) (net.Listener, error) { return nil, unsupported("listen") }

// Dial is not yet supported on Windows.
func Dial(dir, name string) (net.Conn, error) { return nil, unsupported("dial") }

// Interfaces is not yet supported on Windows.
func Interfaces(dir string) ([]string, error) { return nil, unsupported("list interfaces") }
