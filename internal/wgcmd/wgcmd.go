// Package wgcmd implements the wg command set (genkey, pubkey, genpsk, show,
// showconf, set, setconf, addconf, syncconf) with wg(8)'s grammar, output and
// exit codes. It is a UAPI client and never links the engine.
package wgcmd

import (
	"fmt"
	"io"
)

// Main runs one wg command. prog is the name to use in messages ("wg" when
// invoked through a link of that name); args excludes the program name.
// It returns the process exit code.
func Main(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "%s: not implemented yet\n", prog)
	return 1
}
