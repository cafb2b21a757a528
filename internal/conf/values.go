package conf

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/warren-vpn/warren/internal/noise"
)

// Errors every parse error wraps, so callers can tell them apart with
// errors.Is.
var (
	// ErrUnrecognized: a line is not a section header nor a key this
	// dialect accepts in this section.
	ErrUnrecognized = errors.New("line unrecognized")
	// ErrQuickOnly: a wg-quick key met by a parser for wg (Options.Quick unset).
	ErrQuickOnly = errors.New("wg-quick key not accepted by wg")
	// ErrInvalidValue: a known key with a malformed or out-of-range value.
	ErrInvalidValue = errors.New("invalid value")
	// ErrMissingPublicKey: a [Peer] section without PublicKey.
	ErrMissingPublicKey = errors.New("peer without public key")
	// ErrResolve: an endpoint's host or port cannot be resolved.
	ErrResolve = errors.New("cannot resolve endpoint")
	// ErrKeyFile: a key file cannot be read or holds no valid key.
	ErrKeyFile = errors.New("invalid key file")
)

// valueError carries a message in wg's words and the sentinels it matches.
type valueError struct {
	msg  string
	errs []error
}

func (e *valueError) Error() string   { return e.msg }
func (e *valueError) Unwrap() []error { return e.errs }

func invalid(format string, args ...any) error {
	return &valueError{msg: fmt.Sprintf(format, args...), errs: []error{ErrInvalidValue}}
}

// errKeyFormat is the one error for every malformed key; it never repeats
// the value, which might be a secret pasted in the wrong place.
var errKeyFormat = &valueError{
	msg:  "Key is not the correct length or format",
	errs: []error{ErrInvalidValue, noise.ErrKeyFormat},
}

// ParseKey decodes a base64 key as wg does (44 characters, canonical
// padding). The error never includes the value.
func ParseKey(s string) ([noise.KeySize]byte, error) {
	k, err := noise.ParseKey(s)
	if err != nil {
		return k, errKeyFormat
	}
	return k, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// ParsePort parses a UDP port: a decimal number up to 65535 (optionally
// signed "+") or a service name known to the system for UDP.
func ParsePort(s string) (uint16, error) {
	if s == "" {
		return 0, invalid("Unable to parse empty port")
	}
	// getaddrinfo reads numeric services with strtoul, which allows a "+";
	// it also wraps numbers above 65535, which are refused here.
	if digits := strings.TrimPrefix(s, "+"); allDigits(digits) {
		if n, err := strconv.ParseUint(digits, 10, 16); err == nil {
			return uint16(n), nil
		}
		return 0, invalid("Port is not in the range 0-65535: `%s'", s)
	}
	if !isServiceName(s) {
		return 0, invalid("Servname not supported for ai_socktype: `%s'", s)
	}
	n, err := net.LookupPort("udp", s)
	if err != nil || n < 0 || n > 65535 {
		return 0, invalid("Servname not supported for ai_socktype: `%s'", s)
	}
	return uint16(n), nil
}

// isServiceName keeps lookups to plausible /etc/services names.
func isServiceName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ParseFwMark parses a firewall mark: "off", a decimal number, or a
// hexadecimal number prefixed by "0x", up to 0xffffffff. 0 and "off" both
// mean no mark.
func ParseFwMark(s string) (uint32, error) {
	if strings.EqualFold(s, "off") {
		return 0, nil
	}
	bad := invalid("Fwmark is neither 0/off nor 0-0xffffffff: `%s'", s)
	if s == "" || !isDigit(s[0]) {
		return 0, bad
	}
	digits, base := s, 10
	if len(s) > 2 && s[0] == '0' && s[1] == 'x' {
		digits, base = s[2:], 16
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if !(isDigit(c) || base == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
			return 0, bad
		}
	}
	n, err := strconv.ParseUint(digits, base, 32)
	if err != nil {
		return 0, bad
	}
	return uint32(n), nil
}

// ParseKeepalive parses a persistent keepalive interval in seconds: "off"
// or 0 to 65535, 0 meaning off.
func ParseKeepalive(s string) (uint16, error) {
	if strings.EqualFold(s, "off") {
		return 0, nil
	}
	if !allDigits(s) {
		return 0, invalid("Persistent keepalive interval is neither 0/off nor 1-65535: `%s'", s)
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, invalid("Persistent keepalive interval is neither 0/off nor 1-65535: `%s'", s)
	}
	return uint16(n), nil
}

// ParseIP parses an address as inet_pton does: dotted quad for IPv4, and
// for anything holding a colon, IPv6 (no zone).
func ParseIP(s string) (netip.Addr, error) {
	bad := invalid("Unable to parse IP address: `%s'", s)
	if strings.ContainsRune(s, '%') {
		return netip.Addr{}, bad
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, bad
	}
	if strings.ContainsRune(s, ':') != a.Is6() {
		return netip.Addr{}, bad
	}
	return a, nil
}

// ParseAllowedIPs parses a comma-separated list of addresses with optional
// CIDR masks, whitespace already removed. An empty string is an empty list.
// The host part of each prefix is kept as written (the device masks it);
// warn, if not nil, is told about each prefix with a nonzero host part, in
// wg's words.
func ParseAllowedIPs(s string, warn func(string)) ([]netip.Prefix, error) {
	if s == "" {
		return nil, nil
	}
	var out []netip.Prefix
	for entry := range strings.SplitSeq(s, ",") {
		ip, mask, hasMask := strings.Cut(entry, "/")
		addr, err := ParseIP(ip)
		if err != nil {
			return nil, err
		}
		bits := addr.BitLen()
		if hasMask {
			if !allDigits(mask) {
				return nil, invalid("AllowedIP is not in the correct format: `%s'", entry)
			}
			n, err := strconv.ParseUint(mask, 10, 8)
			if err != nil || int(n) > addr.BitLen() {
				return nil, invalid("AllowedIP is not in the correct format: `%s'", entry)
			}
			bits = int(n)
		}
		p := netip.PrefixFrom(addr, bits)
		if warn != nil && p.Masked().Addr() != addr {
			warn(fmt.Sprintf("Warning: AllowedIP has nonzero host part: %s/%s", ip, mask))
		}
		out = append(out, p)
	}
	return out, nil
}

// SplitEndpoint splits "host:port", "[v6addr]:port" (or, as wg allows,
// "v6addr:port" split at the last colon) into host and port.
func SplitEndpoint(s string) (host, port string, err error) {
	if s == "" {
		return "", "", invalid("Unable to parse empty endpoint")
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", invalid("Unable to find matching brace of endpoint: `%s'", s)
		}
		host, rest := s[1:end], s[end+1:]
		if len(rest) < 2 || rest[0] != ':' {
			return "", "", invalid("Unable to find port of endpoint: `%s'", s)
		}
		port = rest[1:]
		if host == "" {
			return "", "", invalid("Unable to find host of endpoint: `%s'", s)
		}
		return host, port, nil
	}
	colon := strings.LastIndexByte(s, ':')
	if colon < 0 || colon == len(s)-1 {
		return "", "", invalid("Unable to find port of endpoint: `%s'", s)
	}
	if colon == 0 {
		return "", "", invalid("Unable to find host of endpoint: `%s'", s)
	}
	return s[:colon], s[colon+1:], nil
}

// checkEndpoint validates an endpoint's syntax without resolving its host.
func checkEndpoint(s string) error {
	host, port, err := SplitEndpoint(s)
	if err != nil {
		return err
	}
	if _, err := ParsePort(port); err != nil {
		return invalid("Servname not supported for ai_socktype: `%s'", s)
	}
	if strings.ContainsAny(host, "[]") {
		return invalid("Unable to parse host of endpoint: `%s'", s)
	}
	return nil
}

// ReadKeyFile reads a key file as wg set does: exactly one base64 key,
// optionally followed by whitespace. An empty file (such as /dev/null)
// yields the zero key, which removes the key from the device. Errors never
// include the file's contents.
func ReadKeyFile(path string) ([noise.KeySize]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [noise.KeySize]byte{}, &valueError{msg: "fopen: " + errnoText(err), errs: []error{ErrKeyFile, err}}
	}
	defer f.Close()
	return ReadKey(f)
}

// ReadKey is ReadKeyFile on an open reader.
func ReadKey(r io.Reader) ([noise.KeySize]byte, error) {
	var zero [noise.KeySize]byte
	const b64Len = 44
	// Read at most one key and a bounded tail: a key file is tiny, and
	// reading without bound from a FIFO or device would never end.
	buf, err := io.ReadAll(io.LimitReader(r, 1<<16))
	if err != nil {
		return zero, &valueError{msg: "fread: " + errnoText(err), errs: []error{ErrKeyFile, err}}
	}
	if len(buf) == 0 {
		return zero, nil
	}
	if len(buf) < b64Len {
		return zero, &valueError{msg: "Invalid length key in key file", errs: []error{ErrKeyFile, noise.ErrKeyFormat}}
	}
	for _, c := range buf[b64Len:] {
		if !isSpace(c) {
			// One character after the key is no secret; wg shows it too.
			return zero, &valueError{msg: "Found trailing character in key file: `" + string([]byte{c}) + "'", errs: []error{ErrKeyFile, noise.ErrKeyFormat}}
		}
	}
	k, err := ParseKey(string(buf[:b64Len]))
	clear(buf)
	if err != nil {
		return zero, &valueError{msg: errKeyFormat.msg, errs: []error{ErrKeyFile, noise.ErrKeyFormat}}
	}
	return k, nil
}

// isSpace is C's isspace in the "C" locale, which wg uses for every
// whitespace decision.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// errnoText renders an OS error as C's strerror does, for wg-compatible
// messages ("No such file or directory").
func errnoText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	s := err.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
