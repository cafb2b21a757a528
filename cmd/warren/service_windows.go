package main

import (
	"os"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/winsvc"
	"github.com/warren-vpn/warren/internal/wintunnel"
)

// serviceOptions links the tunnel service (internal/winsvc) to the Windows
// data plane (internal/wintunnel): Wintun adapter, pinned bind, engine,
// addresses, routes, DNS, kill switch, and UAPI on the tunnel's pipe.
// LOG_LEVEL selects the engine's log as for the daemon (default: errors).
func serviceOptions() winsvc.Options {
	level := os.Getenv("LOG_LEVEL")
	if level == "" {
		level = device.LogLevelError
	}
	return winsvc.Options{NewTunnel: wintunnel.NewTunnelFunc(wintunnel.Options{
		Logger:   device.NewLogger(level, "warren: "),
		Resolver: &conf.Resolver{Retries: conf.DefaultRetries},
	})}
}
