package winsvc

import (
	"errors"
	"fmt"
	"io"
)

// ErrWindowsOnly: the command exists on Windows only.
var ErrWindowsOnly = errors.New("Windows-only")

// Main runs `warren service ...`, `warren import ...`, `warren export
// ...` or `warren log ...` (args start with "service", "import", "export"
// or "log") and returns the
// exit code. Export writes the configuration to stdout; everything else
// reports on stdout and complains on stderr.
func Main(prog string, args []string, opts Options, stdout, stderr io.Writer) int {
	cmd, err := ParseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		if errors.Is(err, ErrUsage) {
			fmt.Fprint(stderr, Usage)
		}
		return 1
	}
	if err := run(cmd, opts, stdout); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	return 0
}
