package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/warren-vpn/warren/internal/cli"
	"github.com/warren-vpn/warren/internal/winsvc"
)

// serviceMain runs the Windows tunnel service's commands (internal/winsvc):
// `warren service|import|export|log`. Their help is winsvc's usage; off
// Windows it first says that they exist on Windows only, and anything else
// fails in winsvc, saying the same.
func serviceMain(cmd string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && cli.IsHelp(args[0]) {
		if runtime.GOOS != "windows" {
			fmt.Fprintf(stdout, "warren %s is Windows-only: it does not exist in warren for %s.\n"+
				"Here, use 'warren up PATH.conf' (wg-quick) or 'warren daemon'.\n\n", cmd, runtime.GOOS)
		}
		fmt.Fprint(stdout, winsvc.Usage)
		return 0
	}
	return winsvc.Main("warren", append([]string{cmd}, args...), serviceOptions(), stdout, stderr)
}
