package proxy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/warren-vpn/warren/internal/uapi"
)

// usageText is the help of `warren proxy`; %[1]s is the program's name.
// Its first line is the usage line every command-line error ends with.
const usageText = `Usage: %[1]s [--socks5 ADDR] [--http ADDR] [--forward SPEC]... [--name NAME] [LIMITS] CONFIG

Runs the WireGuard tunnel described by CONFIG (a wg0.conf: Address, DNS and
MTU are honoured) on a userspace network stack, without root, and serves it
to applications:

  --socks5 ADDR   SOCKS5 proxy (CONNECT, UDP ASSOCIATE) on ADDR
  --http ADDR     HTTP proxy (CONNECT and absolute URIs) on ADDR
  --forward SPEC  port forward, repeatable:
                    [tcp:|udp:]LOCALHOST:PORT=TARGET:PORT   local port into the tunnel
                    [tcp:|udp:]tunnel:PORT=LOCALHOST:PORT   tunnel port to a local service
  --name NAME     name of the control socket (default: CONFIG's base name)

ADDR is IP:PORT, [IPv6]:PORT, localhost:PORT or a bare PORT, which listens
on loopback; 0.0.0.0 listens on every IPv4 address, [::] on every address.
Flags go before CONFIG.

LIMITS cap what clients can make the proxy hold, all listeners together;
"per source" is one client address (every local program is 127.0.0.1, a
reverse forward's client is a tunnel address). A cap that is reached makes
room by ending the least recently active connection, flow or association
of that source (of any source for the total cap); a TCP connection or
association that moved a byte in the last second is never ended, and the
newcomer is refused instead. 0 means no cap.

  --max-conns N                  TCP connections in all (default %[2]d)
  --max-conns-per-source N       ... from one address (default %[3]d)
  --max-udp-flows N              UDP forward flows in all (default %[4]d)
  --max-udp-flows-per-source N   ... from one address (default %[5]d)
  --max-udp-assocs N             SOCKS5 UDP associations (default %[6]d)
  --max-udp-assocs-per-source N  ... from one address (default %[7]d)
  --tcp-idle DURATION            end a TCP relay after this long without a
                                 byte either way (default %[8]s; 0 never)

CONFIG may also hold wireproxy's sections ([Socks5], [http],
[TCPClientTunnel], [TCPServerTunnel], [UDPProxyTunnel]) and a [Limits]
section (MaxConns, MaxConnsPerSource, MaxUDPFlows, MaxUDPFlowsPerSource,
MaxUDPAssociations, MaxUDPAssociationsPerSource, TCPIdleTimeout in
seconds); flags win over them.

A connection through a peer that has not completed a handshake fails
after %[9]v (its name lookup included) with the reason: the client is told
the tunnel's peer has not answered, the log names the peer and how many
handshakes were tried. Any other connection may take up to %[10]v.

The tunnel is controlled with 'warren show NAME' through the socket
$XDG_RUNTIME_DIR/warren/NAME.sock, or for root without XDG_RUNTIME_DIR
/var/run/wireguard/NAME.sock, where 'wg show NAME' finds it too.
LOG_LEVEL=verbose shows the engine's log.
`

// helpText is the help of `warren proxy` for prog.
func helpText(prog string) string {
	d := DefaultLimits()
	return fmt.Sprintf(usageText, prog, d.Conns, d.ConnsPerSource, d.UDPFlows, d.UDPFlowsPerSource,
		d.Associations, d.AssociationsPerSource, durationText(d.TCPIdle), DefaultHandshakeWait, DefaultDialTimeout)
}

// usageLine is the help's first line.
func usageLine(prog string) string {
	line, _, _ := strings.Cut(helpText(prog), "\n")
	return line
}

// durationText writes whole hours and minutes as "1h" and "30m", not
// time.Duration's "1h0m0s".
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// limitFlags are the limit flags and the [Limits] keys they set.
var limitFlags = []struct{ flag, key string }{
	{"max-conns", "MaxConns"},
	{"max-conns-per-source", "MaxConnsPerSource"},
	{"max-udp-flows", "MaxUDPFlows"},
	{"max-udp-flows-per-source", "MaxUDPFlowsPerSource"},
	{"max-udp-assocs", "MaxUDPAssociations"},
	{"max-udp-assocs-per-source", "MaxUDPAssociationsPerSource"},
	{"tcp-idle", "TCPIdleTimeout"},
}

// cmdFlag is one flag of `warren proxy`: the value it takes (for "needs a
// value") and how it is set.
type cmdFlag struct {
	value string
	set   func(o *Options, v string) error
}

// cmdFlags are the flags by name, without dashes.
var cmdFlags = func() map[string]cmdFlag {
	m := map[string]cmdFlag{
		"socks5": {"ADDR", func(o *Options, v string) error { o.SOCKS5 = v; return checkListenFlag(v) }},
		"http":   {"ADDR", func(o *Options, v string) error { o.HTTP = v; return checkListenFlag(v) }},
		"forward": {"SPEC", func(o *Options, v string) error {
			o.Forwards = append(o.Forwards, v)
			_, err := parseForward(v)
			return err
		}},
		"name": {"NAME", func(o *Options, v string) error { o.Name = v; return uapi.ValidName(v) }},
	}
	for _, lf := range limitFlags {
		value, check := "N", func(v string) error {
			if _, err := strconv.ParseUint(v, 10, 31); err != nil {
				return fmt.Errorf("not a count (a whole number; 0 for no cap)")
			}
			return nil
		}
		if lf.key == "TCPIdleTimeout" {
			value, check = "DURATION", func(v string) error {
				var l Limits
				if l.SetLimit(lf.key, v) != nil {
					return fmt.Errorf("not a duration (such as 90s, 30m or 2h; 0 for never)")
				}
				return nil
			}
		}
		m[lf.flag] = cmdFlag{value, func(o *Options, v string) error {
			if err := check(v); err != nil {
				return err
			}
			o.Limits = append(o.Limits, lf.key+"="+v)
			return nil
		}}
	}
	return m
}()

// checkListenFlag checks --socks5's and --http's ADDR.
func checkListenFlag(v string) error {
	_, err := parseListen(v)
	return err
}

// parseArgs reads `warren proxy`'s command line: flags (as --flag VALUE or
// --flag=VALUE; Go's single dash is accepted too), then CONFIG ("--" ends
// the flags). It reports help for -h, -help or --help anywhere, and
// otherwise an error that names a flag as the user wrote it.
func parseArgs(args []string) (o Options, help bool, err error) {
	for _, arg := range args {
		if arg == "--" {
			break
		}
		if arg == "-h" || arg == "-help" || arg == "--help" {
			return Options{}, true, nil
		}
	}
	flags := true
	for i := 0; i < len(args); i++ {
		arg := args[i]
		isFlag := flags && len(arg) > 1 && arg[0] == '-'
		switch {
		case flags && arg == "--":
			flags = false
			continue
		case o.Config != "" && isFlag:
			name, _, _ := strings.Cut(arg, "=")
			return Options{}, false, fmt.Errorf("%s comes after CONFIG %q: flags go before it", name, o.Config)
		case o.Config != "":
			return Options{}, false, fmt.Errorf("one CONFIG only: %q follows %q", arg, o.Config)
		case !isFlag:
			o.Config = arg
			continue
		}
		written, value, hasValue := strings.Cut(arg, "=")
		name := strings.TrimPrefix(written, "-")
		if !strings.HasPrefix(written, "---") {
			name = strings.TrimPrefix(name, "-")
		}
		f, ok := cmdFlags[name]
		if !ok {
			return Options{}, false, fmt.Errorf("unknown flag %s", written)
		}
		if !hasValue {
			if i+1 == len(args) {
				return Options{}, false, fmt.Errorf("%s needs a value (%s)", written, f.value)
			}
			i++
			value = args[i]
		}
		if err := f.set(&o, value); err != nil {
			return Options{}, false, fmt.Errorf("%s %q: %w", written, value, err)
		}
	}
	if o.Config == "" {
		return Options{}, false, fmt.Errorf("CONFIG is missing: name the tunnel's config file (a wg0.conf)")
	}
	return o, false, nil
}
