package main

import (
	"io"

	"github.com/warren-vpn/warren/internal/webui"
	"github.com/warren-vpn/warren/internal/winsvc"
)

// managerMain runs `warren manager`: the manager itself (internal/webui),
// or on Windows its service's install, uninstall and run
// (internal/winsvc), which runs the same manager.
func managerMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && winsvc.IsManagerCommand(args[0]) {
		return winsvc.ManagerMain("warren manager", args, winsvc.ManagerOptions{Check: webui.CheckArgs, Serve: webui.Serve}, stdout, stderr)
	}
	return webui.Main("warren manager", args, stdout, stderr)
}
