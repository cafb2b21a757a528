package proxy

import "syscall"

// waitRawReadable blocks until the socket has data, end of stream or an
// error to report, without reading: the runtime waits for readability
// with a zero-byte overlapped receive when the callback declines the
// first time, and calls it again once there is something to read. It
// returns false if the socket cannot be waited on this way.
func waitRawReadable(rc syscall.RawConn) bool {
	waited := false
	rc.Read(func(uintptr) bool {
		if waited {
			return true
		}
		waited = true
		return false
	})
	return true
}
