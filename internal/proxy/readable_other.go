//go:build !linux && !windows

package proxy

import "syscall"

// waitRawReadable cannot wait here: the relay's read holds its buffer
// while it waits.
func waitRawReadable(syscall.RawConn) bool { return false }
