package quick

import (
	"bytes"
	"fmt"
	"strings"
)

// daemonPrefix starts the error line of warren's own daemon.
const daemonPrefix = "warren daemon: "

// daemonError is the error of a userspace device that failed to start
// (cmdline, e.g. "warren daemon wg0", exited with runErr after printing
// output). Warren's daemon says why in a last line of its own ("warren
// daemon: interface wg0 already exists"): that line becomes the error, so
// that the reason is said once, and rest is the output without it, to be
// shown as it is. Another program's output is all rest, and the error
// names the program and its exit status.
func daemonError(output []byte, cmdline string, runErr error) (rest []byte, err error) {
	trimmed := bytes.TrimRight(output, "\n")
	i := bytes.LastIndexByte(trimmed, '\n') + 1
	if last := string(trimmed[i:]); strings.HasPrefix(last, daemonPrefix) {
		return output[:i], fmt.Errorf("%w: %s", ErrDaemon, strings.TrimPrefix(last, daemonPrefix))
	}
	return output, fmt.Errorf("%w: %s: %w", ErrDaemon, cmdline, runErr)
}
