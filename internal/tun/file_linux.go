package tun

import "os"

// File returns the TUN queue's file, so that a daemonizing parent can hand
// the open interface to its child (WG_TUN_FD), as wireguard-go does. The
// device keeps ownership: do not close it.
func (d *linuxDevice) File() *os.File { return d.file }
