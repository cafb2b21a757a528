package main

import (
	"fmt"
	"io"

	"github.com/warren-vpn/warren/internal/buildinfo"
)

// versionMain runs `warren version` and `warren --version`: it prints
// the version, the commit and the toolchain (internal/buildinfo). It takes
// no arguments.
func versionMain(args []string, stdout, stderr io.Writer) int {
	if len(args) != 0 {
		fmt.Fprintln(stderr, "Usage: warren version")
		return 1
	}
	fmt.Fprint(stdout, buildinfo.Read().String())
	return 0
}
