// Package daemon implements `warren daemon [-f|--foreground] IFACE`, a
// drop-in for wireguard-go's command line: it creates the TUN interface,
// serves UAPI on /var/run/wireguard/IFACE.sock and runs the engine until
// SIGINT/SIGTERM, until the socket file is removed, or until the interface
// goes away. Without -f it daemonizes the way wireguard-go does: the parent
// opens the TUN device and the socket (so that setup errors reach the
// caller's exit code) and hands both to a re-executed child through
// WG_TUN_FD and WG_UAPI_FD. With WARREN_LOG_FILE set (as `warren up` sets
// it) the running device also writes its log to that ring log.
//
// It is the one place that wires platform glue (tun, bind, uapi) to the
// engine; it holds no protocol logic.
package daemon

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/warren-vpn/warren/internal/buildinfo"
)

// Exit codes, as wireguard-go's.
const (
	exitOK          = 0
	exitSetupFailed = 1
)

// Environment variables shared with wireguard-go.
const (
	envTunFD      = "WG_TUN_FD"
	envUAPIFD     = "WG_UAPI_FD"
	envForeground = "WG_PROCESS_FOREGROUND"
	envLogLevel   = "LOG_LEVEL"
)

// Version is warren's version (internal/buildinfo), printed by --version and
// logged at start; `warren version` prints the same one with the commit.
var Version = buildinfo.Read().Version

// options is the parsed command line.
type options struct {
	foreground bool
	iface      string
}

// parseArgs accepts exactly wireguard-go's grammar: [-f|--foreground] IFACE.
func parseArgs(args []string) (options, bool) {
	switch {
	case len(args) == 1 && args[0] != "-f" && args[0] != "--foreground":
		return options{iface: args[0]}, true
	case len(args) == 2 && (args[0] == "-f" || args[0] == "--foreground"):
		return options{foreground: true, iface: args[1]}, true
	}
	return options{}, false
}

// logLevel maps LOG_LEVEL as wireguard-go does: verbose|debug, error
// (the default), silent.
func logLevel(v string) string {
	switch v {
	case "verbose", "debug":
		return "verbose"
	case "silent":
		return "silent"
	}
	return "error"
}

// Main runs the daemon command; args excludes the program and subcommand name.
func Main(prog string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && args[0] == "--version" {
		fmt.Fprintf(stdout, "warren v%s\n\nUserspace WireGuard daemon for %s-%s.\n", Version, runtime.GOOS, runtime.GOARCH)
		return exitOK
	}
	opts, ok := parseArgs(args)
	if !ok {
		fmt.Fprintf(stdout, "Usage: %s [-f/--foreground] INTERFACE-NAME\n", prog)
		// wireguard-go exits 0 after printing its usage; scripts rely on the
		// text, not the code, but a wrong command line deserves a failure.
		return exitSetupFailed
	}
	if os.Getenv(envForeground) == "1" {
		opts.foreground = true
	}
	return run(prog, opts, stdout, stderr)
}
