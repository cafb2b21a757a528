//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package wgcmd

import "golang.org/x/sys/unix"

func isTerminal(fd uintptr) bool {
	_, err := unix.IoctlGetTermios(int(fd), ioctlReadTermios)
	return err == nil
}
