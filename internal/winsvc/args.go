package winsvc

import (
	"errors"
	"fmt"
)

// Op is what a command line asks for.
type Op int

const (
	OpInstall   Op = iota + 1 // service install [--allow-scripts] PATH.conf
	OpUninstall               // service uninstall NAME|--all
	OpList                    // service list
	OpRun                     // service run [--allow-scripts] NAME (the service's own command line)
	OpImport                  // import FILE.conf
	OpExport                  // export NAME
	OpLog                     // log [--no-follow] NAME
)

// Command is a parsed command line.
type Command struct {
	Op Op
	// Path is the configuration file of install and import.
	Path string
	// Tunnel is the tunnel's name: given (uninstall, run, export) or taken
	// from Path (install, import).
	Tunnel string
	// AllowScripts is AllowScriptsFlag, for install and run.
	AllowScripts bool
	// NoFollow is NoFollowFlag (or -n), for log: print and exit.
	NoFollow bool
	// All is AllFlag, for uninstall: every tunnel service (Tunnel is
	// empty).
	All bool
}

// NoFollowFlag makes `warren log` print the log and exit instead of
// following it.
const NoFollowFlag = "--no-follow"

// AllFlag makes `warren service uninstall` remove every tunnel service,
// as the MSI's uninstall does.
const AllFlag = "--all"

// ErrUsage: the command line is malformed; Usage says what is expected.
var ErrUsage = errors.New("usage")

// Usage is the help text of the commands this package owns.
const Usage = `Usage:
  warren service install [--allow-scripts] PATH.conf   import PATH.conf and run it as a tunnel service
  warren service uninstall NAME                        stop and remove tunnel NAME and its stored configuration
  warren service uninstall --all                       stop and remove every tunnel service (stored configurations are kept)
  warren service list                                  list tunnel services and their state
  warren import FILE.conf                              store FILE.conf, encrypted, as tunnel FILE
  warren export NAME                                   print tunnel NAME's stored configuration
  warren log [--no-follow|-n] NAME                     print tunnel NAME's log and follow it until Ctrl-C (-n: print and exit)
`

// ParseArgs parses the arguments after "warren": ["service", "install",
// "wg0.conf"], ["import", "wg0.conf"], ["export", "wg0"] and so on.
func ParseArgs(args []string) (Command, error) {
	bad := func(format string, a ...any) (Command, error) {
		return Command{}, fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, a...))
	}
	if len(args) == 0 {
		return bad("no command")
	}
	switch args[0] {
	case "import":
		if len(args) != 2 {
			return bad("warren import FILE.conf")
		}
		return withPath(OpImport, args[1], false)
	case "export":
		if len(args) != 2 {
			return bad("warren export NAME")
		}
		return withName(OpExport, args[1], false)
	case "log":
		rest, noFollow := args[1:], false
		if len(rest) > 0 && (rest[0] == NoFollowFlag || rest[0] == "-n") {
			rest, noFollow = rest[1:], true
		}
		if len(rest) != 1 {
			return bad("warren log [%s|-n] NAME", NoFollowFlag)
		}
		c, err := withName(OpLog, rest[0], false)
		c.NoFollow = noFollow
		return c, err
	case "service":
	default:
		return bad("unknown command %q", args[0])
	}
	if len(args) < 2 {
		return bad("warren service install|uninstall|list")
	}
	op, rest := args[1], args[2:]
	allow := false
	if (op == "install" || op == "run") && len(rest) > 0 && rest[0] == AllowScriptsFlag {
		allow, rest = true, rest[1:]
	}
	switch op {
	case "install":
		if len(rest) != 1 {
			return bad("warren service install [%s] PATH.conf", AllowScriptsFlag)
		}
		return withPath(OpInstall, rest[0], allow)
	case "uninstall":
		if len(rest) != 1 {
			return bad("warren service uninstall NAME|%s", AllFlag)
		}
		if rest[0] == AllFlag {
			return Command{Op: OpUninstall, All: true}, nil
		}
		return withName(OpUninstall, rest[0], false)
	case "run":
		if len(rest) != 1 {
			return bad("warren service run [%s] NAME", AllowScriptsFlag)
		}
		return withName(OpRun, rest[0], allow)
	case "list":
		if len(rest) != 0 {
			return bad("warren service list")
		}
		return Command{Op: OpList}, nil
	}
	return bad("unknown service command %q", op)
}

func withPath(op Op, path string, allow bool) (Command, error) {
	name, err := TunnelNameFromPath(path)
	if err != nil {
		return Command{}, err
	}
	return Command{Op: op, Path: path, Tunnel: name, AllowScripts: allow}, nil
}

func withName(op Op, name string, allow bool) (Command, error) {
	if err := ValidTunnelName(name); err != nil {
		return Command{}, err
	}
	return Command{Op: op, Tunnel: name, AllowScripts: allow}, nil
}

// ServiceArgs is the command line (after the program) that the service
// manager starts tunnel's service with.
func ServiceArgs(tunnel string, allowScripts bool) []string {
	if allowScripts {
		return []string{"service", "run", AllowScriptsFlag, tunnel}
	}
	return []string{"service", "run", tunnel}
}
