//go:build !windows

package winsvc

import (
	"fmt"
	"io"
)

func run(cmd Command, _ Options, _ io.Writer) error {
	what := map[Op]string{
		OpInstall: "service install", OpUninstall: "service uninstall", OpList: "service list",
		OpRun: "service run", OpImport: "import", OpExport: "export", OpLog: "log",
	}[cmd.Op]
	return fmt.Errorf("%s: %w: tunnel services and the encrypted configuration store exist on Windows only; "+
		"elsewhere use `warren up PATH.conf` (wg-quick) or `warren daemon`", what, ErrWindowsOnly)
}
