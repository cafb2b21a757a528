//go:build !windows

package winsvc

import (
	"fmt"
	"io"
)

func runManager(cmd ManagerCommand, _ ManagerOptions, _ io.Writer) error {
	what := map[ManagerOp]string{ManagerInstall: "install", ManagerUninstall: "uninstall", ManagerRun: "run"}[cmd.Op]
	return fmt.Errorf("manager %s: %w: the manager service exists on Windows only; "+
		"elsewhere run `warren manager` under systemd (dist/warren-manager.service)", what, ErrWindowsOnly)
}
