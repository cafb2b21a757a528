//go:build !windows

package winsvc

import (
	"fmt"
	"io"
)

func runManager(_ ManagerCommand, _ ManagerOptions, _ io.Writer) error {
	return fmt.Errorf("%w: the manager service exists on Windows only; "+
		"elsewhere run `warren manager` under systemd (dist/warren-manager.service)", ErrWindowsOnly)
}
