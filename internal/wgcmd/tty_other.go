//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly || windows)

package wgcmd

func isTerminal(uintptr) bool { return false }
