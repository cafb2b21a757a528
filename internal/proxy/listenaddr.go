package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ErrListenAddr is matched (errors.Is) by the error for a listen address
// that cannot be listened on as written: not HOST:PORT or PORT, a host that
// is not an IP address or localhost, or a port out of range.
var ErrListenAddr = errors.New("bad listen address")

// listenError says what is wrong with a listen address; it matches
// ErrListenAddr.
type listenError string

func (e listenError) Error() string      { return string(e) }
func (listenError) Is(target error) bool { return target == ErrListenAddr }

// listenAddr is a checked listen address on this machine.
type listenAddr struct {
	// Address is "host:port" with a bare port or an empty host made
	// 127.0.0.1 (listeners default to loopback).
	Address string
	// Family is "4" for an IPv4 address and "" otherwise: appended to
	// "tcp" or "udp" it keeps an IPv4 listener to IPv4, so that 0.0.0.0
	// is IPv4's any address (and reported as such) rather than Go's
	// dual-stack [::]. An IPv6 address keeps Go's and Linux's default:
	// [::] takes both families.
	Family string
}

// parseListen checks a listen address as --socks5, --http, a forward's
// local side and wireproxy's BindAddress give it: PORT, :PORT, IP:PORT,
// [IPv6]:PORT or localhost:PORT, the port a number from 0 (any) to 65535.
// Host names other than localhost are refused: which of their addresses
// would be listened on is not the user's choice.
func parseListen(addr string) (listenAddr, error) {
	if addr == "" {
		return listenAddr{}, listenError("empty")
	}
	full := loopbackDefault(addr)
	host, port, err := net.SplitHostPort(full)
	if err != nil {
		return listenAddr{}, listenError("not HOST:PORT or PORT")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return listenAddr{}, listenError(fmt.Sprintf("port %q is not a number from 0 to 65535", port))
	}
	if strings.EqualFold(host, "localhost") {
		return listenAddr{Address: full}, nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return listenAddr{}, listenError(fmt.Sprintf("%q is not an IP address or localhost", host))
	}
	la := listenAddr{Address: full}
	if a.Is4() {
		la.Family = "4"
	}
	return la, nil
}

// loopbackDefault turns "PORT" and ":PORT" into "127.0.0.1:PORT": listeners
// default to loopback.
func loopbackDefault(addr string) string {
	if !strings.Contains(addr, ":") {
		return net.JoinHostPort("127.0.0.1", addr)
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// checkListenAddrs checks every listen address on this machine that s
// names, so that a bad one stops the proxy before the tunnel starts.
func checkListenAddrs(s *Settings) error {
	for _, l := range []struct {
		what string
		list []ServerSettings
	}{{"SOCKS5 proxy", s.SOCKS5}, {"HTTP proxy", s.HTTP}} {
		for _, ss := range l.list {
			if _, err := parseListen(ss.Listen); err != nil {
				return fmt.Errorf("%s: listen address %q: %w", l.what, ss.Listen, err)
			}
		}
	}
	for _, fw := range s.Forwards {
		if fw.Reverse {
			continue
		}
		if _, err := parseListen(fw.Listen); err != nil {
			return fmt.Errorf("forward %v: listen address %q: %w", fw, fw.Listen, err)
		}
	}
	return nil
}

// listen opens a proxy's listener, warning when it is reachable beyond
// loopback without authentication.
func listen(ss ServerSettings, what string, warn func(string)) (net.Listener, error) {
	la, err := parseListen(ss.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", ss.Listen, err)
	}
	l, err := net.Listen("tcp"+la.Family, la.Address)
	if err != nil {
		return nil, err
	}
	if !isLoopback(la.Address) && ss.Username == "" {
		warn(fmt.Sprintf("the %s proxy on %v accepts anyone who can reach it: it has no Username/Password", what, l.Addr()))
	}
	return l, nil
}
