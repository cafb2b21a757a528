package uapi

import (
	"errors"
	"fmt"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

// Error is a non-zero errno reported by (or for) the other end of a
// configuration request. On the server side Err says why; a client only
// learns the number, so Err is nil there.
type Error struct {
	// Errno is the positive errno number of the host (22 is EINVAL on
	// Linux). The wire carries its negation, errno=-22.
	Errno int64
	// Err is the underlying cause, if known. It never contains key material.
	Err error
}

// Error reports the errno's description and, if known, the cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("uapi: %s: %v", errnoText(e.Errno), e.Err)
	}
	return "uapi: " + errnoText(e.Errno)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target names the same errno: one of this package's
// sentinels (ErrInvalid, ErrProtocol, ErrIO, ErrPortInUse), the matching
// wgtypes error (EINVAL is wgtypes.ErrInvalidConfig, EADDRINUSE is
// wgtypes.ErrPortInUse) or, on unix, the syscall.Errno of the same number.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrInvalid, wgtypes.ErrInvalidConfig:
		return e.Errno == errnoInvalid
	case ErrProtocol:
		return e.Errno == errnoProtocol
	case ErrIO:
		return e.Errno == errnoIO
	case ErrPortInUse, wgtypes.ErrPortInUse:
		return e.Errno == errnoPortInUse
	}
	return isSyscallErrno(target, e.Errno)
}

// Sentinels matched by *Error.Is, named after the errno they stand for.
var (
	// ErrInvalid is EINVAL: a bad key, value or key/value order.
	ErrInvalid = errors.New("invalid argument")
	// ErrProtocol is EPROTO: a line that is not key=value, or a malformed answer.
	ErrProtocol = errors.New("protocol error")
	// ErrIO is EIO: reading the request failed, or the device failed to apply it.
	ErrIO = errors.New("input/output error")
	// ErrPortInUse is EADDRINUSE: the device could not bind its listen port.
	ErrPortInUse = errors.New("address already in use")
)

// Errors of the socket helpers.
var (
	// ErrInvalidName is wrapped by every ValidName failure.
	ErrInvalidName = errors.New("invalid interface name")
	// ErrSocketInUse: Listen found a live server on the socket path.
	ErrSocketInUse = errors.New("uapi socket in use")
	// ErrUnsupported: the platform has no UAPI transport yet (Windows).
	ErrUnsupported = errors.New("uapi transport not supported on this platform")
)

func errorf(errno int64, format string, args ...any) *Error {
	return &Error{Errno: errno, Err: fmt.Errorf(format, args...)}
}

// applyErrno maps an error from Handler.Apply to the errno a wg user expects.
func applyErrno(err error) int64 {
	var ue *Error
	switch {
	case errors.As(err, &ue) && ue.Errno != 0:
		return ue.Errno
	case errors.Is(err, wgtypes.ErrInvalidConfig):
		return errnoInvalid
	case errors.Is(err, wgtypes.ErrPortInUse):
		return errnoPortInUse
	}
	return errnoIO
}
