package main

import (
	"fmt"
	"io"

	"github.com/warren-vpn/warren/internal/buildinfo"
	"github.com/warren-vpn/warren/internal/cli"
	"github.com/warren-vpn/warren/internal/wgcmd"
)

const versionUsage = `Usage: warren version

Prints warren's version, the commit it was built from, the Go toolchain
and the platform. 'warren --version' and 'wg-quick --version' print the
same; 'wg --version' first prints the wireguard-tools version whose
commands and output warren's wg follows, in wg's own format.
`

// versionMain runs `warren version` and `warren --version`: it prints
// the version, the commit and the toolchain (internal/buildinfo). It takes
// no arguments.
func versionMain(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 1 && cli.IsHelp(args[0]):
		fmt.Fprint(stdout, versionUsage)
		return 0
	case len(args) != 0:
		fmt.Fprintf(stderr, "warren version: takes no arguments, not %q\n\n%s", args[0], versionUsage)
		return 1
	}
	fmt.Fprint(stdout, buildinfo.Read().String())
	return 0
}

// wgVersion runs `wg --version` (and `wg -v`, `wg version`): wg's own line,
// which scripts parse for the wireguard-tools version ("wireguard-tools
// v1.0.20210914 - URL"), then warren's version as `warren version` prints it.
func wgVersion(stdout io.Writer) int {
	fmt.Fprintf(stdout, "%s\n%s", wgcmd.VersionLine, buildinfo.Read().String())
	return 0
}
