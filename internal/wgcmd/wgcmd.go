// Package wgcmd implements the wg command set (genkey, pubkey, genpsk, show,
// showconf, set, setconf, addconf, syncconf) with wg(8)'s grammar, output and
// exit codes. It is a UAPI client and never links the engine: it imports
// internal/conf, internal/uapi, internal/wgtypes and internal/noise only.
//
// Interfaces are found through their UAPI sockets in uapi.DefaultSocketDir
// and, for rootless devices, $XDG_RUNTIME_DIR/warren; the WARREN_SOCKET_DIR
// environment variable replaces both.
package wgcmd

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/uapi"
)

// SocketDirEnv names the environment variable that overrides the directory
// of UAPI sockets.
const SocketDirEnv = "WARREN_SOCKET_DIR"

// RootlessSocketDir is where an unprivileged user's devices (warren proxy)
// put their sockets: $XDG_RUNTIME_DIR/warren. It returns "" when
// XDG_RUNTIME_DIR is unset.
func RootlessSocketDir(getenv func(string) string) string {
	if rt := getenv("XDG_RUNTIME_DIR"); rt != "" {
		return filepath.Join(rt, "warren")
	}
	return ""
}

// socketDirs is where commands look for interfaces: WARREN_SOCKET_DIR alone
// when set, else the system directory and then the rootless one.
func socketDirs(getenv func(string) string) []string {
	if dir := getenv(SocketDirEnv); dir != "" {
		return []string{dir}
	}
	dirs := []string{uapi.DefaultSocketDir}
	if dir := RootlessSocketDir(getenv); dir != "" && dir != uapi.DefaultSocketDir {
		dirs = append(dirs, dir)
	}
	return dirs
}

// Main runs one wg command. prog is the name to use in messages ("wg" when
// invoked through a link of that name); args excludes the program name.
// It returns the process exit code.
func Main(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newEnv(prog, stdin, stdout, stderr, os.LookupEnv).run(args)
}

// newEnv is the environment of a real run, with variables from lookupEnv.
func newEnv(prog string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) *env {
	e := &env{
		prog:      prog,
		stdin:     stdin,
		stdout:    stdout,
		stderr:    stderr,
		lookupEnv: lookupEnv,
		now:       time.Now,
		rand:      rand.Reader,
		ctx:       context.Background(),
	}
	e.devices = uapiDevices{dirs: socketDirs(e.getenv)}
	e.color = colorMode(e.getenv("WG_COLOR_MODE"), stdout)
	return e
}

// env is everything a command touches besides its arguments, so that tests
// run without devices, terminals, clocks or randomness of their own.
type env struct {
	prog           string
	stdin          io.Reader
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	now            func() time.Time
	rand           io.Reader
	devices        devices
	ctx            context.Context
	// color selects ANSI colours in show's human view.
	color bool
	// sleep, if set, replaces the wait between endpoint resolution retries.
	sleep func(context.Context, time.Duration) error
	// lookup, if set, replaces the system resolver.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// keyFile, if set, replaces reading key files from disk.
	keyFile func(path string) ([noise.KeySize]byte, error)
}

func (e *env) getenv(key string) string {
	v, _ := e.lookupEnv(key)
	return v
}

type subcommand struct {
	name, description string
	run               func(e *env, args []string) int
}

// subcommands in wg's order; the descriptions are wg's, for its usage text.
var subcommands = [...]subcommand{
	{"show", "Shows the current configuration and device information", (*env).show},
	{"showconf", "Shows the current configuration of a given WireGuard interface, for use with `setconf'", (*env).showconf},
	{"set", "Change the current configuration, add peers, remove peers, or change peers", (*env).set},
	{"setconf", "Applies a configuration file to a WireGuard interface", (*env).setconf},
	{"addconf", "Appends a configuration file to a WireGuard interface", (*env).setconf},
	{"syncconf", "Synchronizes a configuration file to a WireGuard interface", (*env).setconf},
	{"genkey", "Generates a new private key and writes it to stdout", (*env).genkey},
	{"genpsk", "Generates a new preshared key and writes it to stdout", (*env).genkey},
	{"pubkey", "Reads a private key from stdin and writes a public key to stdout", (*env).pubkey},
}

func (e *env) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s <cmd> [<args>]\n\n", e.prog)
	fmt.Fprintf(w, "Available subcommands:\n")
	for _, s := range subcommands {
		fmt.Fprintf(w, "  %s: %s\n", s.name, s.description)
	}
	fmt.Fprintf(w, "You may pass `--help' to any of these subcommands to view usage.\n")
}

// run dispatches args (without the program name) as wg's main does. Each
// subcommand receives its own name as args[0].
func (e *env) run(args []string) int {
	if len(args) == 1 {
		switch args[0] {
		case "-v", "--version", "version":
			fmt.Fprintln(e.stdout, VersionLine)
			return 0
		case "-h", "--help", "help":
			e.usage(e.stdout)
			return 0
		}
	}
	if len(args) == 0 {
		return e.show([]string{"show"})
	}
	for _, s := range subcommands {
		if args[0] == s.name {
			if len(args) == 2 && isHelp(args[1]) {
				e.help(e.stdout, s.name)
				return 0
			}
			return s.run(e, args)
		}
	}
	fmt.Fprintf(e.stderr, "Invalid subcommand: `%s'\n", args[0])
	e.usage(e.stderr)
	return 1
}
