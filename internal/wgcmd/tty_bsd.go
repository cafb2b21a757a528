//go:build darwin || freebsd || openbsd || netbsd || dragonfly

package wgcmd

import "golang.org/x/sys/unix"

const ioctlReadTermios = unix.TIOCGETA
