package proxy

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// waitRawReadable blocks until the socket has data, end of stream or an
// error to report, without reading: it peeks one byte, and sleeps in the
// runtime's poller while there is none. It returns false if the socket
// cannot be waited on this way.
func waitRawReadable(rc syscall.RawConn) bool {
	var b [1]byte
	err := rc.Read(func(fd uintptr) bool {
		for {
			_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			switch err {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false
			}
			return true
		}
	})
	_ = err // the read that follows reports it
	return true
}
