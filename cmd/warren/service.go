package main

import "github.com/warren-vpn/warren/internal/winsvc"

// serviceOptions links the tunnel service (internal/winsvc) to the Windows
// data plane: NewTunnel must return a winsvc.Tunnel that brings one tunnel
// up (Wintun adapter, bind, addresses, routes, DNS, firewall) and down.
// Until it is set, `warren service run` fails saying so; install,
// uninstall, list, import and export work without it.
func serviceOptions() winsvc.Options {
	return winsvc.Options{}
}
