package wgcmd

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

func (e *env) setUsage(w io.Writer, cmd string) {
	fmt.Fprintf(w, "Usage: %s %s <interface> [listen-port <port>] [fwmark <mark>] [private-key <file path>] [peer <base64 public key> [remove] [preshared-key <file path>] [endpoint <ip>:<port>] [persistent-keepalive <interval seconds>] [allowed-ips <ip1>/<cidr1>[,<ip2>/<cidr2>]...] ]...\n", e.prog, cmd)
}

// set is wg set: args[0] is "set", args[1] the interface.
func (e *env) set(args []string) int {
	if len(args) < 3 {
		e.setUsage(e.stderr, args[0])
		return 1
	}
	cfg, err := e.parseSetArgs(args[2:])
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return 1
	}
	if err := e.devices.Set(args[1], cfg); err != nil {
		fmt.Fprintf(e.stderr, "Unable to modify interface: %s\n", errnoText(err))
		return 1
	}
	return 0
}

// ErrInvalidArgument is wrapped by the errors of an unknown or misplaced
// wg set argument.
var ErrInvalidArgument = errors.New("invalid argument")

// argError words a wg set error as wg does.
type argError struct {
	msg string
	err error
}

func (e *argError) Error() string { return e.msg }
func (e *argError) Unwrap() error { return e.err }

// parseSetArgs reads wg set's options (after the interface name) into the
// change they ask for. Key files are read and endpoints resolved as they
// come, as wg does.
func (e *env) parseSetArgs(args []string) (*wgtypes.Config, error) {
	cfg := &wgtypes.Config{}
	var peer *wgtypes.PeerConfig
	for len(args) > 0 {
		opt := args[0]
		hasValue := len(args) >= 2
		switch {
		case opt == "listen-port" && hasValue && peer == nil:
			port, err := conf.ParsePort(args[1])
			if err != nil {
				return nil, err
			}
			cfg.ListenPort = &port
		case opt == "fwmark" && hasValue && peer == nil:
			mark, err := conf.ParseFwMark(args[1])
			if err != nil {
				return nil, err
			}
			cfg.FwMark = &mark
		case opt == "private-key" && hasValue && peer == nil:
			k, err := e.readKeyFile(args[1])
			if err != nil {
				return nil, err
			}
			pk := noise.PrivateKey(k)
			clear(k[:])
			cfg.PrivateKey = &pk
		case opt == "peer" && hasValue:
			k, err := conf.ParseKey(args[1])
			if err != nil {
				return nil, err
			}
			cfg.Peers = append(cfg.Peers, wgtypes.PeerConfig{PublicKey: k})
			peer = &cfg.Peers[len(cfg.Peers)-1]
		case opt == "remove" && peer != nil:
			peer.Remove = true
			args = args[1:]
			continue
		case opt == "endpoint" && hasValue && peer != nil:
			ap, err := e.resolve(args[1])
			if err != nil {
				return nil, err
			}
			peer.Endpoint = &ap
		case opt == "allowed-ips" && hasValue && peer != nil:
			if err := e.allowedIPs(peer, stripSpaces(args[1])); err != nil {
				return nil, err
			}
		case opt == "persistent-keepalive" && hasValue && peer != nil:
			n, err := conf.ParseKeepalive(args[1])
			if err != nil {
				return nil, err
			}
			peer.PersistentKeepaliveInterval = &n
		case opt == "preshared-key" && hasValue && peer != nil:
			k, err := e.readKeyFile(args[1])
			if err != nil {
				return nil, err
			}
			psk := noise.PresharedKey(k)
			clear(k[:])
			peer.PresharedKey = &psk
		default:
			return nil, &argError{msg: "Invalid argument: " + safeArg(opt), err: ErrInvalidArgument}
		}
		args = args[2:]
	}
	return cfg, nil
}

// allowedIPs applies an allowed-ips list to peer as newer wg does: the list
// replaces the peer's allowed IPs, unless some entry starts with '+' (add
// it) or '-' (remove it from this peer), which makes the whole list
// incremental.
func (e *env) allowedIPs(peer *wgtypes.PeerConfig, list string) error {
	incremental := false
	var add, remove []netip.Prefix
	if list != "" {
		for entry := range strings.SplitSeq(list, ",") {
			op := byte(0)
			if entry != "" && (entry[0] == '+' || entry[0] == '-') {
				op, entry, incremental = entry[0], entry[1:], true
			}
			if entry == "" {
				// As wg: "Unable to parse IP address: `'".
				_, err := conf.ParseIP(entry)
				return err
			}
			ips, err := conf.ParseAllowedIPs(entry, e.warn)
			if err != nil {
				return err
			}
			if op == '-' {
				remove = append(remove, ips...)
			} else {
				add = append(add, ips...)
			}
		}
	}
	if !incremental {
		peer.ReplaceAllowedIPs = true
	}
	peer.AllowedIPs = append(peer.AllowedIPs, add...)
	peer.RemoveAllowedIPs = append(peer.RemoveAllowedIPs, remove...)
	return nil
}

// safeArg keeps a stray key out of an error message.
func safeArg(s string) string {
	if len(s) == 44 && s[43] == '=' {
		return "(a base64 key; keys are given in files)"
	}
	return s
}

// stripSpaces removes all white space, as wg does with allowed-ips.
func stripSpaces(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			return -1
		}
		return r
	}, s)
}

func (e *env) warn(msg string) { fmt.Fprintln(e.stderr, msg) }

func (e *env) readKeyFile(path string) ([noise.KeySize]byte, error) {
	if e.keyFile != nil {
		return e.keyFile(path)
	}
	return conf.ReadKeyFile(path)
}

// retries reads WG_ENDPOINT_RESOLUTION_RETRIES as wg does.
func (e *env) retries() (int, error) {
	v, ok := e.lookupEnv("WG_ENDPOINT_RESOLUTION_RETRIES")
	if !ok {
		return conf.DefaultRetries, nil
	}
	if v == "infinity" {
		return -1, nil
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 31)
	if err != nil || strings.TrimLeft(v, "0123456789") != "" {
		return 0, fmt.Errorf("Unable to parse WG_ENDPOINT_RESOLUTION_RETRIES: `%s'", v) //lint:ignore ST1005 wg's message
	}
	return int(n), nil
}

func (e *env) resolver() (*conf.Resolver, error) {
	n, err := e.retries()
	if err != nil {
		return nil, err
	}
	r := &conf.Resolver{Retries: n, Warn: e.warn, Sleep: e.sleep}
	if e.lookup != nil {
		r.LookupNetIP = e.lookup
	}
	return r, nil
}

func (e *env) resolve(endpoint string) (ap netip.AddrPort, err error) {
	r, err := e.resolver()
	if err != nil {
		return ap, err
	}
	return r.Resolve(e.ctx, endpoint)
}
