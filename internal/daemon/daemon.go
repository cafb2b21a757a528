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
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/warren-vpn/warren/internal/buildinfo"
	"github.com/warren-vpn/warren/internal/uapi"
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

// ErrExists: the interface to create is there already (and is not a TUN
// device this process could attach to).
var ErrExists = errors.New("already exists")

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

// usageText is the help of `warren daemon`; its first line is
// wireguard-go's usage, %[1]s the program's name.
const usageText = `Usage: %[1]s [-f/--foreground] INTERFACE-NAME

Creates the TUN interface INTERFACE-NAME and serves its UAPI socket,
/var/run/wireguard/INTERFACE-NAME.sock, through which 'warren set',
'warren setconf' and wg configure it; then runs the device in the
background (with -f, or WG_PROCESS_FOREGROUND=1, in the foreground) until
SIGTERM or SIGINT, until the socket file is removed, or until the interface
is deleted. The interface is created down and without addresses; 'warren
up' does all of it from a wg-quick config file. Needs root (CAP_NET_ADMIN).

Environment:
  LOG_LEVEL=verbose|error|silent  what the device logs to stdout (default
                                  error); in the background only when set
  WARREN_LOG_FILE=PATH            also log to this ring log (warren up sets
                                  /run/warren/log/INTERFACE-NAME.log)
  WARREN_TUN_OFFLOAD=0, WARREN_UDP_GSO=0, WARREN_UDP_GRO=0
                                  turn TUN and UDP offloads off
  WARREN_INLINE_BATCH=N           batches of up to N packets are encrypted
                                  on the goroutine that read them (-1: never)
`

// Main runs the daemon command; args excludes the program and subcommand
// name. -h or --help prints the help and --version the version, on stdout;
// anything else must be wireguard-go's command line with a valid interface
// name (uapi.ValidName: one starting with '-' is refused), checked before
// anything is created.
func Main(prog string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 {
		switch args[0] {
		case "--version":
			bi := buildinfo.Read()
			commit := bi.Commit
			if commit == "" {
				commit = "unknown"
			}
			fmt.Fprintf(stdout, "warren v%s\ncommit %s\n\nUserspace WireGuard daemon for %s-%s.\n", bi.Version, commit, runtime.GOOS, runtime.GOARCH)
			return exitOK
		case "-h", "--help":
			fmt.Fprintf(stdout, usageText, prog)
			return exitOK
		}
	}
	opts, ok := parseArgs(args)
	if !ok {
		// wireguard-go prints its usage and exits 0; a wrong command line
		// deserves a failure, and the reason.
		what := "expects one INTERFACE-NAME"
		if len(args) > 0 {
			what = fmt.Sprintf("expects one INTERFACE-NAME, not %q", strings.Join(args, " "))
		}
		fmt.Fprintf(stderr, "%s: %s\n", prog, what)
		fmt.Fprintf(stderr, "Usage: %s [-f/--foreground] INTERFACE-NAME\n", prog)
		return exitSetupFailed
	}
	if err := uapi.ValidName(opts.iface); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return exitSetupFailed
	}
	if os.Getenv(envForeground) == "1" {
		opts.foreground = true
	}
	return run(prog, opts, stdout, stderr)
}
