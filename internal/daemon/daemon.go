// Package daemon implements `warren daemon [-f|--foreground] IFACE`, a
// drop-in for wireguard-go's command line: it creates the TUN interface,
// serves UAPI on /var/run/wireguard/IFACE.sock and runs the engine until
// SIGINT/SIGTERM or the interface goes away.
package daemon

import (
	"fmt"
	"io"
)

// Main runs the daemon command; args excludes the program and subcommand name.
func Main(prog string, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "%s: not implemented yet\n", prog)
	return 1
}
