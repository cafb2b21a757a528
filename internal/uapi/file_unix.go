//go:build !windows

package uapi

import "os"

// File returns a duplicate of the listening socket's descriptor, so that a
// daemonizing parent can hand it to its child (WG_UAPI_FD), as wireguard-go
// does. The caller closes the returned file.
func (l *unixListener) File() (*os.File, error) { return l.ul.File() }
