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
// Windows it first says that they exist on Windows only, and any other
// use fails in one line saying the same.
func serviceMain(cmd string, args []string, stdout, stderr io.Writer) int {
	const elsewhere = "Here, use 'warren up PATH.conf' (wg-quick) or 'warren daemon'."
	if len(args) == 1 && cli.IsHelp(args[0]) {
		if runtime.GOOS != "windows" {
			fmt.Fprintf(stdout, "warren %s is Windows-only: it does not exist in warren for %s.\n%s\n\n", cmd, runtime.GOOS, elsewhere)
		}
		fmt.Fprint(stdout, winsvc.Usage)
		return 0
	}
	if runtime.GOOS != "windows" {
		fmt.Fprintf(stderr, "warren %s: Windows-only: tunnel services and their encrypted store exist in warren for Windows. %s\n", cmd, elsewhere)
		return 1
	}
	return winsvc.Main("warren", append([]string{cmd}, args...), serviceOptions(), stdout, stderr)
}
