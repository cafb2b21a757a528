package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/warren-vpn/warren/internal/cli"
)

const helpUsage = `Usage: warren help [COMMAND]

Prints the help of COMMAND, as 'warren COMMAND --help' does, or without
COMMAND the list of warren's commands.
`

// helpMain runs `warren help [COMMAND]` (and `warren --help`).
func helpMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		cli.Usage(stdout, runtime.GOOS)
		return 0
	case len(args) == 1 && (cli.IsHelp(args[0]) || args[0] == "help"):
		fmt.Fprint(stdout, helpUsage)
		return 0
	case len(args) > 1:
		fmt.Fprintf(stderr, "warren help: one command at a time, not %d\n\n%s", len(args), helpUsage)
		return 1
	}
	c, ok := cli.Lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "warren help: unknown command %q\n\n", args[0])
		cli.Usage(stderr, runtime.GOOS)
		return 1
	}
	return dispatch(c.Name, []string{"--help"}, stdin, stdout, stderr)
}
