//go:build !windows

package bind

import (
	"errors"
	"syscall"
)

// familyUnavailable reports whether err says this host cannot use the
// address family at all (so the Bind carries on with the other one).
func familyUnavailable(err error) bool {
	return errors.Is(err, syscall.EAFNOSUPPORT) ||
		errors.Is(err, syscall.EPROTONOSUPPORT) ||
		errors.Is(err, syscall.EADDRNOTAVAIL)
}

// withAddrInUse returns err: EADDRINUSE is already matchable on Unix.
func withAddrInUse(err error) error { return err }
