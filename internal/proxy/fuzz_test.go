package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// FuzzSOCKS5Request feeds arbitrary bytes to the request parser: it must
// not panic, and an accepted request must survive a round trip through
// its own encoding.
func FuzzSOCKS5Request(f *testing.F) {
	for _, seed := range [][]byte{
		{5, 1, 0, 1, 10, 0, 0, 1, 0, 80},
		append(append([]byte{5, 1, 0, 3, 11}, "example.com"...), 1, 187),
		append([]byte{5, 3, 0, 4}, make([]byte, 18)...),
		{5, 2, 0, 1, 0, 0, 0, 0, 0, 0},
		{5, 9, 0, 1, 0, 0, 0, 0, 0, 0},
		{4, 1, 0, 80, 1, 2, 3, 4, 0},
		{5, 1, 0, 3, 0, 0, 80},
		{5, 1, 1},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := readRequest(bytes.NewReader(b))
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, ErrSOCKSVersion) ||
				errors.Is(err, ErrSOCKSCommand) || errors.Is(err, ErrSOCKSAddress) || errors.Is(err, ErrSOCKSFormat) {
				return
			}
			t.Fatalf("unclassified error %v", err)
		}
		if req.Addr.Name != "" {
			enc := append([]byte{5, req.Cmd, 0, atypDomain, byte(len(req.Addr.Name))}, req.Addr.Name...)
			enc = append(enc, byte(req.Addr.Port>>8), byte(req.Addr.Port))
			again, err := readRequest(bytes.NewReader(enc))
			if err != nil || again != req {
				t.Fatalf("round trip: %+v -> %+v, %v", req, again, err)
			}
			return
		}
		enc := appendAddr([]byte{5, req.Cmd, 0}, netipAddrPort(req.Addr))
		again, err := readRequest(bytes.NewReader(enc))
		if err != nil || again != req {
			t.Fatalf("round trip: %+v -> %+v, %v", req, again, err)
		}
	})
}

// FuzzSOCKS5UDPDatagram: the UDP header parser must not panic, and the
// payload it returns is the datagram's tail.
func FuzzSOCKS5UDPDatagram(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 10, 0, 0, 1, 0, 53, 'x'})
	f.Add(append(append([]byte{0, 0, 0, 3, 4}, "host"...), 0, 53))
	f.Add([]byte{0, 0, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, payload, err := parseUDPDatagram(b)
		if err == nil && !bytes.HasSuffix(b, payload) {
			t.Fatal("payload is not the datagram's tail")
		}
	})
}

// FuzzSOCKS5Auth: the RFC 1929 parser must not panic.
func FuzzSOCKS5Auth(f *testing.F) {
	f.Add([]byte{1, 5, 'a', 'l', 'i', 'c', 'e', 2, 'p', 'w'})
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		readUserPass(bytes.NewReader(b))
		readGreeting(bytes.NewReader(b))
	})
}

// netipAddrPort is a's address and port; a must not be a name.
func netipAddrPort(a socksAddr) netip.AddrPort { return netip.AddrPortFrom(a.IP, a.Port) }

// FuzzSplitConfig: splitting never panics, never loses a line of the
// WireGuard part's numbering, and what it accepts has valid settings.
func FuzzSplitConfig(f *testing.F) {
	f.Add([]byte("[Interface]\nAddress = 10.0.0.1/32\n[Socks5]\nBindAddress = 127.0.0.1:1080\n"))
	f.Add([]byte("WGConfig = wg0.conf\n[http]\nBindAddress=:8080\nUsername=a\nPassword=b\n"))
	f.Add([]byte("[UDPProxyTunnel]\nBindAddress = 127.0.0.1:53\nTarget = 1.1.1.1:53\nInactivityTimeout = 5\n"))
	f.Add([]byte("[TCPServerTunnel]\nListenPort = 80\nTarget = localhost:8080\n[Peer]\n"))
	f.Add([]byte("[Limits]\nMaxConns = 10\nMaxUDPFlowsPerSource = 0\nTCPIdleTimeout = 1h\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		wg, s, err := SplitConfig("fuzz.conf", b, nil)
		if err != nil {
			return
		}
		if bytes.Count(wg, []byte{'\n'}) != bytes.Count(b, []byte{'\n'})+boolInt(len(b) > 0 && b[len(b)-1] != '\n') {
			t.Fatalf("line count changed: %q -> %q", b, wg)
		}
		for _, fw := range s.Forwards {
			if fw.Target == "" || fw.Listen == "" {
				t.Fatalf("accepted an empty forward %+v", fw)
			}
		}
		if err := s.Limits.Validate(); err != nil {
			t.Fatalf("accepted invalid limits: %v", err)
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzParseForward: an accepted spec has a listen side and a target, and
// its String form names both.
func FuzzParseForward(f *testing.F) {
	for _, s := range []string{"8080=10.0.0.2:80", "udp:127.0.0.1:53=10.0.0.1:53", "tunnel:22=127.0.0.1:22",
		"tcp:tunnel:[fd00::1]:80=[::1]:8080", "tunnel:x=y", "=", "udp:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		fw, err := ParseForward(spec)
		if err != nil {
			return
		}
		if fw.Listen == "" || fw.Target == "" {
			t.Fatalf("%q: accepted %+v", spec, fw)
		}
		if s := fw.String(); !strings.Contains(s, fw.Target) {
			t.Fatalf("%q: String %q lacks the target", spec, s)
		}
	})
}

// FuzzParseListen: an accepted listen address is HOST:PORT with a port in
// range and an IP or localhost host, is accepted again as it came out, and
// keeps IPv4's family exactly when the host is an IPv4 address.
func FuzzParseListen(f *testing.F) {
	for _, s := range []string{"1080", ":1080", "0.0.0.0:1083", "[::]:1", "localhost:53", "host:80", "1.2.3.4:99999", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		la, err := parseListen(s)
		if err != nil {
			if !errors.Is(err, ErrListenAddr) {
				t.Fatalf("%q: unclassified error %v", s, err)
			}
			return
		}
		host, port, err := net.SplitHostPort(la.Address)
		if err != nil {
			t.Fatalf("%q: accepted %q, not HOST:PORT", s, la.Address)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			t.Fatalf("%q: accepted port %q", s, port)
		}
		a, ipErr := netip.ParseAddr(host)
		if ipErr != nil && !strings.EqualFold(host, "localhost") {
			t.Fatalf("%q: accepted host %q", s, host)
		}
		if (la.Family == "4") != (ipErr == nil && a.Is4()) {
			t.Fatalf("%q: family %q for host %q", s, la.Family, host)
		}
		if again, err := parseListen(la.Address); err != nil || again != la {
			t.Fatalf("%q: %+v does not parse again: %+v, %v", s, la, again, err)
		}
	})
}

// FuzzParseArgs: the command line parser (arguments joined by NUL in the
// corpus) never panics; what it accepts names a CONFIG, and listen
// addresses and forwards that parse.
func FuzzParseArgs(f *testing.F) {
	f.Add("--socks5\x001080\x00wg0.conf")
	f.Add("wg0.conf\x00--http")
	f.Add("--max-conns=-1\x00x")
	f.Fuzz(func(t *testing.T, joined string) {
		o, help, err := parseArgs(strings.Split(joined, "\x00"))
		if err != nil || help {
			return
		}
		if o.Config == "" {
			t.Fatalf("%q: accepted without a CONFIG", joined)
		}
		for _, a := range []string{o.SOCKS5, o.HTTP} {
			if _, err := parseListen(a); a != "" && err != nil {
				t.Fatalf("%q: accepted listen address %q: %v", joined, a, err)
			}
		}
		for _, fw := range o.Forwards {
			if _, err := ParseForward(fw); err != nil {
				t.Fatalf("%q: accepted forward %q: %v", joined, fw, err)
			}
		}
		var s Settings
		if err := applyFlags(&s, o); err != nil {
			t.Fatalf("%q: accepted options that do not apply: %v", joined, err)
		}
	})
}
