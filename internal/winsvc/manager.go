package winsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// The manager service runs `warren manager` (internal/webui) as SYSTEM,
// so that the web UI can drive the tunnel services and the DPAPI store
// through this package. `warren manager install` registers it, `warren
// manager uninstall` removes it, and the service manager starts it as
// `warren.exe manager run --state %ProgramData%\warren [FLAGS]`.

// ManagerServiceName is the manager's Windows service.
const ManagerServiceName = "WarrenManager"

// ManagerOp is what a `warren manager install|uninstall|run` command line
// asks for.
type ManagerOp int

const (
	ManagerInstall   ManagerOp = iota + 1 // manager install [FLAGS]
	ManagerUninstall                      // manager uninstall
	ManagerRun                            // manager run [FLAGS] (the service's own command line)
)

// ManagerCommand is a parsed `warren manager install|uninstall|run`.
type ManagerCommand struct {
	Op ManagerOp
	// Flags are the manager's own flags (`warren manager --help`), passed
	// on to the service's command line (install) or to the manager (run).
	Flags []string
}

// ManagerUsage is the help of the commands this package adds to `warren
// manager`.
const ManagerUsage = `Windows service:
  warren manager install [FLAGS]   register and start the manager as a service
                                   (SYSTEM, automatic start), with its state in
                                   %ProgramData%\warren; FLAGS are the manager's
                                   own (--listen, --tls-cert, --tls-key, --host,
                                   --metrics, --metrics-token-file, --allow-hooks)
  warren manager uninstall         stop and remove the manager service (its
                                   state, the tunnels and their services stay)
`

// fixedManagerFlags are the manager's flags the service decides itself on
// Windows: its state is %ProgramData%\warren, its configurations are the
// DPAPI store of the tunnel services.
var fixedManagerFlags = []string{"state", "config-dir"}

// IsManagerCommand reports whether `warren manager ARG...` is one of the
// service commands (ParseManagerArgs) rather than the manager itself.
func IsManagerCommand(arg string) bool {
	return arg == "install" || arg == "uninstall" || arg == "run"
}

// ParseManagerArgs parses the arguments after "warren manager":
// ["install", "--allow-hooks"], ["uninstall"], ["run", "--state", DIR].
// install refuses --state and --config-dir, which the service fixes.
func ParseManagerArgs(args []string) (ManagerCommand, error) {
	bad := func(format string, a ...any) (ManagerCommand, error) {
		return ManagerCommand{}, fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, a...))
	}
	if len(args) == 0 || !IsManagerCommand(args[0]) {
		return bad("warren manager install [FLAGS] | uninstall")
	}
	rest := slices.Clone(args[1:])
	switch args[0] {
	case "install":
		for _, a := range rest {
			if name, ok := flagName(a); ok && slices.Contains(fixedManagerFlags, name) {
				return bad("warren manager install: --%s is fixed for the service (its state is in %%ProgramData%%\\warren, its tunnels in the tunnel services' store)", name)
			}
		}
		return ManagerCommand{Op: ManagerInstall, Flags: rest}, nil
	case "uninstall":
		if len(rest) != 0 {
			return bad("warren manager uninstall takes no arguments")
		}
		return ManagerCommand{Op: ManagerUninstall}, nil
	}
	return ManagerCommand{Op: ManagerRun, Flags: rest}, nil
}

// flagName is the name of a flag argument ("--state=x" and "-state" are
// "state"), as Go's flag package reads it.
func flagName(arg string) (string, bool) {
	if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
		return "", false
	}
	name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	name, _, _ = strings.Cut(name, "=")
	return name, name != ""
}

// ManagerServiceArgs is the command line (after the program) that the
// service manager starts the manager with.
func ManagerServiceArgs(stateDir string, flags []string) []string {
	return append([]string{"manager", "run", "--state", stateDir}, flags...)
}

// ManagerOptions link the manager (internal/webui) in: winsvc does not
// import it.
type ManagerOptions struct {
	// Check validates the manager's flags as `warren manager` parses them
	// (nil: not checked).
	Check func(flags []string) error
	// Serve runs the manager with flags until ctx is done, writing what it
	// reports to stdout; it returns why it stopped early, or nil.
	Serve func(ctx context.Context, flags []string, stdout io.Writer) error
}

// ErrManagerService: the manager service is in a state the command cannot
// work with (installed already, not installed).
var ErrManagerService = errors.New("manager service")

// ManagerMain runs `warren manager install|uninstall|run` (args start with
// the command) and returns the exit code. Off Windows it says that these
// exist on Windows only.
func ManagerMain(prog string, args []string, opts ManagerOptions, stdout, stderr io.Writer) int {
	cmd, err := ParseManagerArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n%s", prog, err, ManagerUsage)
		return 1
	}
	if err := runManager(cmd, opts, stdout); err != nil {
		fmt.Fprintf(stderr, "%s %s: %v\n", prog, args[0], err)
		return 1
	}
	return 0
}
