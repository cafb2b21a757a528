//go:build !linux

package daemon

import (
	"fmt"
	"io"
	"runtime"
)

func run(prog string, opts options, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "%s: the userspace daemon is not supported on %s yet (Linux only for now)\n", prog, runtime.GOOS)
	return exitSetupFailed
}
