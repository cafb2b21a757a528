package main

import (
	"os"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/ringlog"
	"github.com/warren-vpn/warren/internal/winsvc"
	"github.com/warren-vpn/warren/internal/wintunnel"
)

// serviceOptions links the tunnel service (internal/winsvc) to the Windows
// data plane (internal/wintunnel): Wintun adapter, pinned bind, engine,
// addresses, routes, DNS, kill switch, and UAPI on the tunnel's pipe.
//
// Each tunnel logs into its ring log (winsvc.OpenTunnelLog, which `warren
// log NAME` prints): the engine's log and the hooks' output, tagged
// winsvc.LogTagTunnel, the engine's errors (LogTagError) and the data
// plane's warnings (LogTagWarning). LOG_LEVEL selects the engine's log as
// for the daemon; the default is verbose, as the ring's size is fixed
// ("error" keeps errors and warnings only, and drops the hooks' output).
// The log stays open for the life of the service's process.
func serviceOptions() winsvc.Options {
	level := os.Getenv("LOG_LEVEL")
	if level == "" {
		level = device.LogLevelVerbose
	}
	return winsvc.Options{NewTunnel: func(name string) (winsvc.Tunnel, error) {
		log, err := winsvc.OpenTunnelLog(name)
		if err != nil {
			return nil, err
		}
		return wintunnel.NewTunnelFunc(wintunnel.Options{
			Logger:   ringLogger(log, level),
			Resolver: &conf.Resolver{Retries: conf.DefaultRetries},
			Warn:     log.Println(winsvc.LogTagWarning),
		})(name)
	}}
}

// ringLogger is the engine's logger writing into a tunnel's ring log at
// level "verbose", "error" or "silent" (anything else is silent, as
// device.NewLogger).
func ringLogger(l *ringlog.Log, level string) *device.Logger {
	silent := func(string, ...any) {}
	lg := &device.Logger{Verbosef: silent, Errorf: silent}
	switch level {
	case device.LogLevelVerbose:
		lg.Verbosef = l.Printf(winsvc.LogTagTunnel)
		lg.Errorf = l.Printf(winsvc.LogTagError)
	case device.LogLevelError:
		lg.Errorf = l.Printf(winsvc.LogTagError)
	}
	return lg
}
