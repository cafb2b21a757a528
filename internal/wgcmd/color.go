package wgcmd

import (
	"io"
	"os"
)

// colorMode decides on ANSI colours as wg does from WG_COLOR_MODE: always,
// never, or (anything else) only when stdout is a terminal.
func colorMode(mode string, stdout io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := stdout.(*os.File)
	return ok && isTerminal(f.Fd())
}
