package wgcmd

import (
	"fmt"

	"github.com/warren-vpn/warren/internal/conf"
)

// showconf prints an interface's configuration in wg0.conf form.
func (e *env) showconf(args []string) int {
	if len(args) != 2 {
		fmt.Fprintf(e.stderr, "Usage: %s %s <interface>\n", e.prog, args[0])
		return 1
	}
	d, err := e.devices.Get(args[1])
	if err != nil {
		fmt.Fprintln(e.stderr, accessError(err))
		return 1
	}
	if err := conf.Write(e.stdout, conf.FromDevice(d)); err != nil {
		return 1
	}
	return 0
}
