package wgcmd

import (
	"fmt"
	"io"
)

// VersionLine is what `wg --version` prints, in wg's own format
// ("wireguard-tools vX - URL", which scripts parse for the version): the
// wireguard-tools release whose commands and output these follow.
const VersionLine = "wireguard-tools v1.0.20210914 - https://github.com/warren-vpn/warren"

// isHelp reports whether arg asks a subcommand for its help.
func isHelp(arg string) bool { return arg == "-h" || arg == "--help" }

// helpTexts is each subcommand's help after its "Usage:" line (which is
// wg's, printed by the subcommand's own usage function).
var helpTexts = map[string]string{
	"show": `Shows the current configuration and device information: of every
interface (no argument, or 'all'), of one interface, or only the names of
the interfaces ('interfaces'). Private and preshared keys show as
(hidden). Given a field, it prints that field alone, one line per peer,
for scripts; 'dump' prints everything, tab-separated.`,
	"showconf": `Shows the current configuration of <interface> in the configuration
file format, private key included, for use with 'setconf'.`,
	"set": `Changes the configuration of <interface>, adds peers, removes peers, or
changes peers. Keys are read from files, never from the command line
('/dev/stdin' works). 'peer KEY remove' removes that peer. allowed-ips
replaces the peer's list; entries written +PREFIX or -PREFIX add or remove
one prefix and keep the rest. An empty endpoint or allowed-ips is an error;
listen-port 0 picks a random port, fwmark 0 or off clears the mark,
persistent-keepalive 0 or off turns it off.`,
	"setconf": `Applies a configuration file to <interface>: the interface gets exactly
the file's settings and peers; peers missing from the file are removed.
The file has wg's keys only (PrivateKey, ListenPort, FwMark; PublicKey,
PresharedKey, AllowedIPs, Endpoint, PersistentKeepalive); wg-quick's keys
(Address, DNS, ...) are refused: pass the file through 'strip' first.`,
	"addconf": `Appends a configuration file to <interface>: the file's settings and
peers are added to the interface's, and the interface's other peers stay.`,
	"syncconf": `Synchronizes <interface> with a configuration file: as setconf, but
peers whose settings do not change are left alone, so their sessions
stay up. 'warren syncconf wg0 <(warren strip wg0)' reloads a tunnel.`,
	"genkey": `Generates a new random private key and writes it to stdout in base64.
Run 'umask 077' first when the output goes to a file.`,
	"genpsk": `Generates a new random preshared key and writes it to stdout in base64.
Run 'umask 077' first when the output goes to a file.`,
	"pubkey": `Reads a private key in base64 from stdin and writes its public key to
stdout: 'warren genkey | tee private.key | warren pubkey > public.key'.`,
}

// help prints the help of subcommand cmd to w: wg's usage line, then what
// the subcommand does.
func (e *env) help(w io.Writer, cmd string) {
	switch cmd {
	case "show":
		e.showUsage(w, cmd)
	case "set":
		e.setUsage(w, cmd)
	case "setconf", "addconf", "syncconf":
		setconfUsage(w, e.prog, cmd)
	case "showconf":
		fmt.Fprintf(w, "Usage: %s %s <interface>\n", e.prog, cmd)
	default:
		fmt.Fprintf(w, "Usage: %s %s\n", e.prog, cmd)
	}
	fmt.Fprintf(w, "\n%s\n", helpTexts[cmd])
}
