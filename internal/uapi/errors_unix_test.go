//go:build unix

package uapi

import (
	"errors"
	"syscall"
	"testing"
)

func TestErrorIsSyscallErrno(t *testing.T) {
	err := &Error{Errno: int64(syscall.EADDRINUSE)}
	if !errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EINVAL) {
		t.Errorf("syscall errno matching wrong for %v", err)
	}
	if got, want := err.Error(), "uapi: "+syscall.EADDRINUSE.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
