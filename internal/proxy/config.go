package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ErrSection marks a problem in one of the proxy sections of a file.
var ErrSection = errors.New("invalid proxy section")

// Settings are what the proxy serves, from wireproxy's sections of the
// config file and from the command line.
type Settings struct {
	SOCKS5   []ServerSettings
	HTTP     []ServerSettings
	Forwards []Forward
	// WGConfig is wireproxy's top-level "WGConfig = path": the WireGuard
	// part lives in that file instead.
	WGConfig string
	// Limits are DefaultLimits with the keys of the file's [Limits]
	// section applied (warren's own section; see SetLimit).
	Limits Limits
}

// ServerSettings configure one SOCKS5 or HTTP listener.
type ServerSettings struct {
	// Listen is "host:port" on this machine.
	Listen             string
	Username, Password string
}

// Forward is one port forward.
type Forward struct {
	// UDP selects UDP; otherwise TCP.
	UDP bool
	// Reverse forwards a port on the tunnel address to Target on this
	// machine; otherwise a local port (Listen) forwards into the tunnel.
	Reverse bool
	// Listen is "host:port" on this machine, or for Reverse the port (or
	// "addr:port" with one of the stack's addresses) on the tunnel.
	Listen string
	// Target is "host:port": inside the tunnel (names resolved through its
	// DNS) or, for Reverse, on this machine.
	Target string
	// Idle ends a UDP flow after this much silence; 0 means the default.
	Idle time.Duration
}

func (f Forward) String() string {
	proto := "tcp"
	if f.UDP {
		proto = "udp"
	}
	if f.Reverse {
		return fmt.Sprintf("%s tunnel:%s -> %s", proto, f.Listen, f.Target)
	}
	return fmt.Sprintf("%s %s -> tunnel:%s", proto, f.Listen, f.Target)
}

// wireproxy's [Interface] keys that warren does not implement; they are
// dropped with a warning rather than failing the file.
var ignoredInterfaceKeys = []string{"CheckAlive", "CheckAliveInterval"}

// SplitConfig separates a file into its WireGuard part ([Interface] and
// [Peer] sections, handed to conf.Parse with wg-quick's keys) and the
// proxy settings in wireproxy's sections. Lines taken out of the WireGuard
// part are blanked, so that conf's errors keep the file's line numbers.
// Section names and keys are case-insensitive.
func SplitConfig(name string, data []byte, warn func(string)) (wg []byte, s *Settings, err error) {
	s = &Settings{Limits: DefaultLimits()}
	var out bytes.Buffer
	section := ""
	var cur map[string]string
	var curLine int
	flush := func() error {
		if cur == nil {
			return nil
		}
		err := s.addSection(section, cur)
		if err != nil {
			return fmt.Errorf("%s:%d: [%s]: %w", name, curLine, section, err)
		}
		cur = nil
		return nil
	}
	lineNo := 0
	for len(data) > 0 {
		var raw []byte
		raw, data, _ = bytes.Cut(data, []byte{'\n'})
		lineNo++
		line := raw
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		text := strings.TrimSpace(string(line))
		if strings.HasPrefix(text, "[") && strings.HasSuffix(text, "]") {
			if err := flush(); err != nil {
				return nil, nil, err
			}
			section = strings.TrimSpace(text[1 : len(text)-1])
			switch strings.ToLower(section) {
			case "interface", "peer":
				section = strings.ToLower(section)
				out.Write(raw)
			case "socks5", "http", "tcpclienttunnel", "tcpservertunnel", "udpproxytunnel", "limits":
				cur, curLine = map[string]string{}, lineNo
				out.WriteString("#")
			default:
				return nil, nil, fmt.Errorf("%s:%d: unknown section [%s]: %w", name, lineNo, section, ErrSection)
			}
			out.WriteByte('\n')
			continue
		}
		key, value, hasEq := strings.Cut(text, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case cur != nil:
			if text != "" {
				if !hasEq || key == "" {
					return nil, nil, fmt.Errorf("%s:%d: expected Key = Value: %w", name, lineNo, ErrSection)
				}
				cur[strings.ToLower(key)] = value
			}
			out.WriteByte('\n')
		case section == "" && hasEq && strings.EqualFold(key, "WGConfig"):
			s.WGConfig = value
			out.WriteByte('\n')
		case section == "interface" && hasEq && isIgnoredKey(key):
			if warn != nil {
				warn(fmt.Sprintf("%s:%d: %s is not supported by warren; ignored", name, lineNo, key))
			}
			out.WriteByte('\n')
		default:
			out.Write(raw)
			out.WriteByte('\n')
		}
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	return out.Bytes(), s, nil
}

func isIgnoredKey(k string) bool {
	for _, i := range ignoredInterfaceKeys {
		if strings.EqualFold(i, k) {
			return true
		}
	}
	return false
}

// addSection turns one section's keys (lower-cased) into settings.
func (s *Settings) addSection(section string, kv map[string]string) error {
	take := func(k string) string {
		v := kv[k]
		delete(kv, k)
		return v
	}
	var err error
	switch strings.ToLower(section) {
	case "socks5", "http":
		ss := ServerSettings{Listen: take("bindaddress"), Username: take("username"), Password: take("password")}
		if err = checkBindAddress(ss.Listen); err != nil {
			break
		}
		if (ss.Username == "") != (ss.Password == "") {
			err = errors.New("a Username needs a Password and a Password a Username")
			break
		}
		if strings.EqualFold(section, "socks5") {
			if len(ss.Username) > 255 || len(ss.Password) > 255 {
				err = errors.New("SOCKS5 Username and Password are at most 255 bytes")
				break
			}
			s.SOCKS5 = append(s.SOCKS5, ss)
		} else {
			s.HTTP = append(s.HTTP, ss)
		}
	case "tcpclienttunnel":
		f := Forward{Listen: take("bindaddress"), Target: take("target")}
		if err = checkBindAddress(f.Listen); err == nil {
			err = checkHostPort(f.Target, "Target")
		}
		s.Forwards = append(s.Forwards, f)
	case "tcpservertunnel":
		f := Forward{Reverse: true, Listen: take("listenport"), Target: take("target")}
		if _, e := strconv.ParseUint(f.Listen, 10, 16); e != nil || f.Listen == "0" {
			err = fmt.Errorf("ListenPort %q is not a port", f.Listen)
		} else {
			err = checkHostPort(f.Target, "Target")
		}
		s.Forwards = append(s.Forwards, f)
	case "limits":
		for k, v := range kv {
			if err = s.Limits.SetLimit(k, v); err != nil {
				break
			}
			delete(kv, k)
		}
	case "udpproxytunnel":
		f := Forward{UDP: true, Listen: take("bindaddress"), Target: take("target")}
		if v := take("inactivitytimeout"); v != "" {
			n, e := strconv.ParseUint(v, 10, 31)
			if e != nil {
				err = fmt.Errorf("InactivityTimeout %q is not a number of seconds", v)
				break
			}
			f.Idle = time.Duration(n) * time.Second
		}
		if err = checkBindAddress(f.Listen); err == nil {
			err = checkHostPort(f.Target, "Target")
		}
		s.Forwards = append(s.Forwards, f)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSection, err)
	}
	for k := range kv {
		return fmt.Errorf("%w: unknown key %q", ErrSection, k)
	}
	return nil
}

// checkBindAddress checks a section's BindAddress, a listen address on
// this machine (see parseListen).
func checkBindAddress(s string) error {
	if err := checkHostPort(s, "BindAddress"); err != nil {
		return err
	}
	if _, err := parseListen(s); err != nil {
		return fmt.Errorf("BindAddress %q: %w", s, err)
	}
	return nil
}

func checkHostPort(s, what string) error {
	if s == "" {
		return fmt.Errorf("%s is missing", what)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%s %q: %w", what, s, err)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || (p == 0 && host == "") {
		return fmt.Errorf("%s %q: bad port", what, s)
	}
	return nil
}

// ParseForward parses a --forward SPEC:
//
//	[tcp:|udp:]LISTEN=TARGET
//
// LISTEN is "host:port" (or a bare port, on loopback) on this machine, forwarded to TARGET "host:port"
// inside the tunnel; or "tunnel:PORT" (every tunnel address) or
// "tunnel:ADDR:PORT" ("tunnel:[ADDR]:PORT" for IPv6), a port on the
// tunnel forwarded to TARGET on this machine.
func ParseForward(spec string) (Forward, error) {
	f, err := parseForward(spec)
	if err != nil {
		return f, fmt.Errorf("forward %q: %w", spec, err)
	}
	return f, nil
}

// parseForward is ParseForward with errors that do not repeat the spec.
func parseForward(spec string) (Forward, error) {
	var f Forward
	rest := spec
	if p, r, ok := strings.Cut(spec, ":"); ok && (strings.EqualFold(p, "tcp") || strings.EqualFold(p, "udp")) {
		f.UDP = strings.EqualFold(p, "udp")
		rest = r
	}
	listen, target, ok := strings.Cut(rest, "=")
	if !ok {
		return f, errors.New("want [tcp:|udp:]LISTEN=TARGET")
	}
	if p, ok := strings.CutPrefix(listen, "tunnel:"); ok {
		f.Reverse = true
		listen = p
		if _, err := strconv.ParseUint(listen, 10, 16); err == nil {
			if listen == "0" {
				return f, errors.New("tunnel port 0")
			}
		} else if ap, err := netip.ParseAddrPort(listen); err != nil || ap.Port() == 0 {
			return f, fmt.Errorf("tunnel side %q is not PORT or ADDR:PORT", listen)
		}
	} else {
		la, err := parseListen(listen)
		if err != nil {
			return f, fmt.Errorf("listen address %q: %w", listen, err)
		}
		listen = la.Address
	}
	if err := checkHostPort(target, "target"); err != nil {
		return f, err
	}
	f.Listen, f.Target = listen, target
	return f, nil
}

// ErrLimitKey marks an unknown key of the [Limits] section.
var ErrLimitKey = errors.New("unknown limit")

// limitKeys are the [Limits] section's keys (lower case) and the caps
// they set.
var limitKeys = map[string]func(l *Limits) *int{
	"maxconns":                    func(l *Limits) *int { return &l.Conns },
	"maxconnspersource":           func(l *Limits) *int { return &l.ConnsPerSource },
	"maxudpflows":                 func(l *Limits) *int { return &l.UDPFlows },
	"maxudpflowspersource":        func(l *Limits) *int { return &l.UDPFlowsPerSource },
	"maxudpassociations":          func(l *Limits) *int { return &l.Associations },
	"maxudpassociationspersource": func(l *Limits) *int { return &l.AssociationsPerSource },
}

// SetLimit sets one limit by its [Limits] key (case-insensitive):
// MaxConns, MaxConnsPerSource, MaxUDPFlows, MaxUDPFlowsPerSource,
// MaxUDPAssociations and MaxUDPAssociationsPerSource take a count (0: no
// cap); TCPIdleTimeout takes seconds, as wireproxy's InactivityTimeout
// does, or a Go duration such as "30m" (0: never).
func (l *Limits) SetLimit(key, value string) error {
	k := strings.ToLower(key)
	if k == "tcpidletimeout" {
		d, err := time.ParseDuration(value)
		if n, e := strconv.ParseUint(value, 10, 31); e == nil {
			d, err = time.Duration(n)*time.Second, nil
		}
		if err != nil || d < 0 {
			return fmt.Errorf("%s %q is not a number of seconds or a duration", key, value)
		}
		l.TCPIdle = d
		return nil
	}
	field, ok := limitKeys[k]
	if !ok {
		return fmt.Errorf("%w %q", ErrLimitKey, key)
	}
	n, err := strconv.ParseUint(value, 10, 31)
	if err != nil {
		return fmt.Errorf("%s %q is not a count (0 for no cap)", key, value)
	}
	*field(l) = int(n)
	return nil
}
