// Command warren is one binary for the whole of warren: the wg command set,
// the userspace daemon, the wg-quick set and the rootless proxy. Invoked
// through a link named wg, wg-quick or wireguard-go it behaves as that tool.
// It holds no logic of its own: it picks the command and hands over. The
// commands it lists are internal/cli's; a test checks that every case of
// dispatch is listed there and that every listed command answers --help.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/warren-vpn/warren/internal/cli"
	"github.com/warren-vpn/warren/internal/daemon"
	"github.com/warren-vpn/warren/internal/demo"
	"github.com/warren-vpn/warren/internal/proxy"
	"github.com/warren-vpn/warren/internal/quick"
	"github.com/warren-vpn/warren/internal/selftest"
	"github.com/warren-vpn/warren/internal/wgcmd"
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run runs the command line argv (argv[0] included) and returns the exit code.
func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name := strings.TrimSuffix(filepath.Base(argv[0]), ".exe")
	args := argv[1:]
	switch name {
	case "wg":
		if len(args) == 1 && (args[0] == "--version" || args[0] == "-v" || args[0] == "version") {
			return wgVersion(stdout)
		}
		return wgcmd.Main("wg", args, stdin, stdout, stderr)
	case "wireguard-go":
		return daemon.Main(name, args, stdout, stderr)
	case "wg-quick":
		if len(args) == 1 && args[0] == "--version" {
			return versionMain(nil, stdout, stderr)
		}
		return quick.Main(name, args, stdin, stdout, stderr)
	}
	if len(args) == 0 {
		// Like wg with no arguments: show all interfaces.
		return wgcmd.Main("warren", args, stdin, stdout, stderr)
	}
	return dispatch(args[0], args[1:], stdin, stdout, stderr)
}

// dispatch runs `warren cmd args...`.
func dispatch(cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch cmd {
	case "daemon":
		return daemon.Main("warren daemon", args, stdout, stderr)
	case "proxy":
		return proxy.Main("warren proxy", args, stdin, stdout, stderr)
	case "demo":
		return demo.Main("warren demo", args, stdout, stderr)
	case "selftest":
		return selftest.Main("warren selftest", args, stdout, stderr)
	case "manager":
		return managerMain(args, stdout, stderr)
	case "up", "down", "strip", "save":
		return quick.Main("warren", append([]string{cmd}, args...), stdin, stdout, stderr)
	case "show", "showconf", "set", "setconf", "addconf", "syncconf", "genkey", "genpsk", "pubkey":
		return wgcmd.Main("warren", append([]string{cmd}, args...), stdin, stdout, stderr)
	case "service", "import", "export", "log":
		return serviceMain(cmd, args, stdout, stderr)
	case "version", "--version":
		return versionMain(args, stdout, stderr)
	case "help", "-h", "--help":
		return helpMain(args, stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "warren: unknown command %q\n\n", cmd)
	cli.Usage(stderr, runtime.GOOS)
	return 1
}
