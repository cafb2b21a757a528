//go:build !windows

package main

import "github.com/warren-vpn/warren/internal/winsvc"

// serviceOptions links the tunnel service (internal/winsvc) to the Windows
// data plane: NewTunnel must return a winsvc.Tunnel that brings one tunnel
// up (Wintun adapter, bind, addresses, routes, DNS, firewall) and down.
// Off Windows there is none (service_windows.go links internal/wintunnel);
// `warren service run` fails saying so.
func serviceOptions() winsvc.Options {
	return winsvc.Options{}
}
