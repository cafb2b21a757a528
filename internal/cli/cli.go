// Package cli lists warren's commands — name, one-line summary, the man
// page that documents them, the platform they exist on — for the top-level
// help (cmd/warren), the man pages (scripts/genman) and the tests that keep
// both and the shell completion in step with what the binary dispatches.
// It also renders a command's --help text as a section of a man page, so
// that the man pages are the --help texts and cannot drift from them.
//
// It imports nothing of warren's.
package cli

import (
	"fmt"
	"io"
	"strings"
)

// Command is one subcommand of warren.
type Command struct {
	// Name is what follows "warren" on the command line.
	Name string
	// Summary says in one line what the command does.
	Summary string
	// Page names the man page that documents it: warren-<Page>(8).
	Page string
	// WindowsOnly commands are not listed, nor documented, elsewhere.
	WindowsOnly bool
}

// Page is one man page of a group of commands.
type Page struct {
	// Name is the group's name: the page is warren-<Name>(8).
	Name string
	// Title is the page's one-line description (its NAME section).
	Title string
	// Heading introduces the group in `warren --help`.
	Heading string
	// Description is the page's opening paragraph.
	Description string
}

// Pages in the order `warren --help` lists them.
var Pages = []Page{
	{
		Name:    "quick",
		Title:   "bring WireGuard tunnels up and down from wg-quick config files",
		Heading: "Tunnels from wg-quick config files (as wg-quick; root):",
		Description: "These commands are wg-quick(8)'s, on warren's userspace device: " +
			"up creates the interface with warren daemon and sets keys, addresses, MTU, routes, " +
			"policy routing, firewall marks and DNS; down removes all of it. " +
			"Invoked through a link named wg-quick, warren behaves as wg-quick. " +
			"The systemd unit warren@.service runs warren up and down for /etc/wireguard/NAME.conf.",
	},
	{
		Name:    "wg",
		Title:   "configure WireGuard interfaces (the wg command set)",
		Heading: "The wg command set (as wg; over UAPI, also to wireguard-go):",
		Description: "These commands are wg(8)'s, with its grammar, output and exit codes. " +
			"They talk to a device over its UAPI socket (/var/run/wireguard/NAME.sock, or " +
			"$XDG_RUNTIME_DIR/warren/NAME.sock for a rootless tunnel; $WARREN_SOCKET_DIR replaces both), " +
			"so they work with warren's devices and with wireguard-go's, but not with the kernel's. " +
			"Invoked through a link named wg, warren behaves as wg; with no command at all it shows every interface.",
	},
	{
		Name:    "daemon",
		Title:   "run a WireGuard interface in userspace",
		Heading: "The userspace device (as wireguard-go; root):",
		Description: "warren daemon is a drop-in for wireguard-go's command line. " +
			"Invoked through a link named wireguard-go, warren behaves as it.",
	},
	{
		Name:    "proxy",
		Title:   "WireGuard without root: a SOCKS5/HTTP proxy and port forwards",
		Heading: "Without root, on a userspace TCP/IP stack:",
		Description: "These commands need no root, no TUN driver and no kernel module: " +
			"the tunnel runs on a userspace TCP/IP stack inside the process.",
	},
	{
		Name:        "selftest",
		Title:       "prove warren's data path on this machine",
		Heading:     "Checks:",
		Description: "warren selftest creates a real adapter with a throwaway tunnel and checks that packets pass.",
	},
	{
		Name:    "manager",
		Title:   "manage WireGuard tunnels from a web browser",
		Heading: "The manager (root):",
		Description: "warren manager serves a web UI and a JSON API that manage this machine's tunnels; " +
			"the systemd unit warren-manager.service runs it.",
	},
	{
		Name:        "windows",
		Title:       "Windows tunnel services",
		Heading:     "Windows only:",
		Description: "These commands exist in warren for Windows only.",
	},
	{
		Name:        "misc",
		Title:       "help and version",
		Heading:     "Help:",
		Description: "Help on warren's commands, and which warren this is.",
	},
}

// Commands in the order `warren --help` lists them within their page.
var Commands = []Command{
	{Name: "up", Page: "quick", Summary: "bring a tunnel up from a wg-quick config file"},
	{Name: "down", Page: "quick", Summary: "take a tunnel down again, restoring addresses, routes, rules and DNS"},
	{Name: "save", Page: "quick", Summary: "write a running tunnel's configuration back to its config file"},
	{Name: "strip", Page: "quick", Summary: "print a config file without wg-quick's keys, for setconf"},

	{Name: "show", Page: "wg", Summary: "show the current configuration and device information"},
	{Name: "showconf", Page: "wg", Summary: "show an interface's configuration, for use with setconf"},
	{Name: "set", Page: "wg", Summary: "change the configuration, add, change or remove peers"},
	{Name: "setconf", Page: "wg", Summary: "apply a configuration file to an interface"},
	{Name: "addconf", Page: "wg", Summary: "append a configuration file to an interface"},
	{Name: "syncconf", Page: "wg", Summary: "synchronize an interface with a configuration file"},
	{Name: "genkey", Page: "wg", Summary: "generate a new private key and write it to stdout"},
	{Name: "genpsk", Page: "wg", Summary: "generate a new preshared key and write it to stdout"},
	{Name: "pubkey", Page: "wg", Summary: "read a private key from stdin and write its public key to stdout"},

	{Name: "daemon", Page: "daemon", Summary: "run a WireGuard interface in userspace, with a UAPI socket"},

	{Name: "proxy", Page: "proxy", Summary: "run a tunnel without root, as a SOCKS5/HTTP proxy and port forwards"},
	{Name: "demo", Page: "proxy", Summary: "show two WireGuard peers talking, in this process, without root"},

	{Name: "selftest", Page: "selftest", Summary: "prove the data path through a real adapter on this machine (root)"},

	{Name: "manager", Page: "manager", Summary: "serve the web UI and API that manage this machine's tunnels"},

	{Name: "service", Page: "windows", WindowsOnly: true, Summary: "install, uninstall or list tunnel services"},
	{Name: "import", Page: "windows", WindowsOnly: true, Summary: "store a config file, encrypted, as a tunnel"},
	{Name: "export", Page: "windows", WindowsOnly: true, Summary: "print a stored tunnel's config file"},
	{Name: "log", Page: "windows", WindowsOnly: true, Summary: "print a tunnel service's log and follow it"},

	{Name: "help", Page: "misc", Summary: "print the help of a command, or this list"},
	{Name: "version", Page: "misc", Summary: "print warren's version and the commit it was built from"},
}

// Lookup returns the command named name.
func Lookup(name string) (Command, bool) {
	for _, c := range Commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// Listed returns the commands that exist on goos, in Commands' order.
func Listed(goos string) []Command {
	var out []Command
	for _, c := range Commands {
		if !c.WindowsOnly || goos == "windows" {
			out = append(out, c)
		}
	}
	return out
}

// PageCommands returns the commands of page p that exist on goos.
func PageCommands(p, goos string) []Command {
	var out []Command
	for _, c := range Listed(goos) {
		if c.Page == p {
			out = append(out, c)
		}
	}
	return out
}

// Usage writes the top-level help of the commands that exist on goos.
func Usage(w io.Writer, goos string) {
	fmt.Fprint(w, `Usage: warren <command> [<args>]

warren is WireGuard in one binary: a userspace device, the wg and wg-quick
command sets, and a proxy that needs no root. With no command it shows
every interface, as wg does.
`)
	width := 0
	for _, c := range Listed(goos) {
		width = max(width, len(c.Name))
	}
	for _, p := range Pages {
		cmds := PageCommands(p.Name, goos)
		if len(cmds) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", p.Heading)
		for _, c := range cmds {
			fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Summary)
		}
	}
	fmt.Fprint(w, `
Run 'warren help COMMAND' or 'warren COMMAND --help' for a command's usage,
'man warren' for more. Invoked through a link named wg, wg-quick or
wireguard-go, warren behaves as that program.
`)
}

// IsHelp reports whether arg asks for help: -h or --help.
func IsHelp(arg string) bool { return arg == "-h" || arg == "--help" }

// firstUsage returns the first line of help that starts with "Usage:",
// without it.
func firstUsage(help string) string {
	for line := range strings.SplitSeq(help, "\n") {
		if rest, ok := strings.CutPrefix(line, "Usage: "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}
