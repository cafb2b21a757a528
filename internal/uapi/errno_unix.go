//go:build unix

package uapi

import "syscall"

// The host's errno numbers: wg(8) hands what it reads to its own strerror.
const (
	errnoInvalid   = int64(syscall.EINVAL)
	errnoProtocol  = int64(syscall.EPROTO)
	errnoIO        = int64(syscall.EIO)
	errnoPortInUse = int64(syscall.EADDRINUSE)
)

func errnoText(n int64) string {
	if n > 0 && n < 1<<16 {
		return syscall.Errno(n).Error()
	}
	return unknownErrnoText(n)
}

func isSyscallErrno(target error, n int64) bool {
	t, ok := target.(syscall.Errno)
	return ok && int64(t) == n
}
