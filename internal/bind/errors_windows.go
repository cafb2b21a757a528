package bind

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/windows"
)

// familyUnavailable reports whether err says this host cannot use the
// address family at all (so the Bind carries on with the other one).
// Go's own syscall.EAFNOSUPPORT counts too, for errors made in Go.
func familyUnavailable(err error) bool {
	return errors.Is(err, windows.WSAEAFNOSUPPORT) || errors.Is(err, syscall.EAFNOSUPPORT) ||
		errors.Is(err, windows.WSAEPROTONOSUPPORT) ||
		errors.Is(err, windows.WSAEADDRNOTAVAIL)
}

// withAddrInUse makes Winsock's "address in use" matchable with
// errors.Is(err, syscall.EADDRINUSE), as it is on Unix.
func withAddrInUse(err error) error {
	if errors.Is(err, windows.WSAEADDRINUSE) {
		return fmt.Errorf("%w (%w)", err, syscall.EADDRINUSE)
	}
	return err
}
