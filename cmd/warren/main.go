// Command warren is one binary for the whole of warren: the wg command set,
// the userspace daemon, the wg-quick set and the rootless proxy. Invoked
// through a link named wg, wg-quick or wireguard-go it behaves as that tool.
// It holds no logic of its own: it picks the command and hands over.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/warren-vpn/warren/internal/daemon"
	"github.com/warren-vpn/warren/internal/demo"
	"github.com/warren-vpn/warren/internal/proxy"
	"github.com/warren-vpn/warren/internal/quick"
	"github.com/warren-vpn/warren/internal/selftest"
	"github.com/warren-vpn/warren/internal/wgcmd"
	"github.com/warren-vpn/warren/internal/winsvc"
)

const usage = `Usage: warren <cmd> [<args>]

Available subcommands:
  daemon: run a WireGuard interface in userspace (as wireguard-go)
  proxy: run a tunnel without root, as a SOCKS5/HTTP proxy and port forwards
  demo: show two WireGuard peers talking, in this process, without root
  selftest: prove the data path through a real adapter on this machine (root/Administrator)
  version: print warren's version and the commit it was built from
  up: bring a tunnel up from a wg-quick config file (as wg-quick up)
  down: take a tunnel down again, restoring addresses, routes, rules and DNS
  save: write a running tunnel's configuration back to its config file
  strip: print a config file with only the keys wg understands
  service: (Windows) install, uninstall or list tunnel services
  import, export: (Windows) store a config file encrypted, or print a stored one
  log: (Windows) print a tunnel service's log and follow it (--no-follow, -n: print and exit)
  show: Shows the current configuration and device information
  showconf: Shows the current configuration of a given WireGuard interface, for use with 'setconf'
  set: Change the current configuration, add peers, remove peers, or change peers
  setconf: Applies a configuration file to a WireGuard interface
  addconf: Appends a configuration file to a WireGuard interface
  syncconf: Synchronizes a configuration file to a WireGuard interface
  genkey: Generates a new private key and writes it to stdout
  genpsk: Generates a new preshared key and writes it to stdout
  pubkey: Reads a private key from stdin and writes a public key to stdout
You may pass '--help' to any of these subcommands to view usage.
`

func main() {
	os.Exit(run(os.Args))
}

func run(argv []string) int {
	name := strings.TrimSuffix(filepath.Base(argv[0]), ".exe")
	args := argv[1:]
	switch name {
	case "wg":
		return wgcmd.Main("wg", args, os.Stdin, os.Stdout, os.Stderr)
	case "wireguard-go":
		return daemon.Main(name, args, os.Stdout, os.Stderr)
	case "wg-quick":
		return quick.Main(name, args, os.Stdin, os.Stdout, os.Stderr)
	}
	if len(args) == 0 {
		// Like wg with no arguments: show all interfaces.
		return wgcmd.Main("warren", args, os.Stdin, os.Stdout, os.Stderr)
	}
	switch args[0] {
	case "daemon":
		return daemon.Main("warren daemon", args[1:], os.Stdout, os.Stderr)
	case "proxy":
		return proxy.Main("warren proxy", args[1:], os.Stdin, os.Stdout, os.Stderr)
	case "demo":
		return demo.Main("warren demo", args[1:], os.Stdout, os.Stderr)
	case "selftest":
		return selftest.Main("warren selftest", args[1:], os.Stdout, os.Stderr)
	case "up", "down", "strip", "save":
		return quick.Main("warren", args, os.Stdin, os.Stdout, os.Stderr)
	case "service", "import", "export", "log":
		return winsvc.Main("warren", args, serviceOptions(), os.Stdout, os.Stderr)
	case "version", "--version":
		return versionMain(args[1:], os.Stdout, os.Stderr)
	case "-h", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
		return 0
	}
	return wgcmd.Main("warren", args, os.Stdin, os.Stdout, os.Stderr)
}
