package conf

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/warren-vpn/warren/internal/noise"
)

type section int

const (
	sectionNone section = iota
	sectionInterface
	sectionPeer
)

// quickKeys are the [Interface] keys only wg-quick understands.
var quickKeys = [...]string{"Address", "DNS", "MTU", "Table", "PreUp", "PostUp", "PreDown", "PostDown", "SaveConfig"}

func isQuickKey(key string) bool {
	for _, k := range quickKeys {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// Parse reads a configuration file. name is used in error messages only.
//
// Lines are handled as wg handles them: everything from '#' on is a
// comment; all whitespace inside a line is ignored; section names and keys
// are case-insensitive; a key repeated in a section overrides, except
// AllowedIPs, which accumulates. wg-quick's keys (with opts.Quick) keep
// their inner whitespace and lose only the surrounding one, as in wg-quick.
//
// A comment "# Name = alice" directly above a [Peer] header names the peer
// (Peer.Name); see ValidPeerName.
func Parse(name string, data []byte, opts Options) (*File, error) {
	p, err := parse(name, data, opts)
	if err != nil {
		return nil, err
	}
	return p.f, nil
}

// parse parses data and returns the parser, which knows where each peer's
// header and name comment are.
func parse(name string, data []byte, opts Options) (*parser, error) {
	p := &parser{name: name, opts: opts, f: &File{}}
	for lineNo := 1; len(data) > 0; lineNo++ {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		p.line = lineNo
		if err := p.parseLine(line); err != nil {
			return nil, &ParseError{File: name, Line: lineNo, Err: err}
		}
	}
	for i, ok := range p.hasPublicKey {
		if !ok {
			return nil, &ParseError{File: name, Line: p.peerLines[i], Err: &valueError{
				msg: "A peer is missing a public key", errs: []error{ErrMissingPublicKey}}}
		}
	}
	return p, nil
}

type parser struct {
	name         string
	opts         Options
	f            *File
	section      section
	line         int
	peerLines    []int
	hasPublicKey []bool
	// nameLines holds, for each peer, the line of its name comment (0 if
	// none); pendingName is a name comment waiting for its [Peer].
	nameLines       []int
	pendingName     string
	pendingNameLine int
}

func (p *parser) warn(msg string) {
	if p.opts.Warn != nil {
		p.opts.Warn(fmt.Sprintf("%s:%d: %s", p.name, p.line, msg))
	}
}

func (p *parser) parseLine(raw []byte) error {
	if isCommentLine(raw) {
		if n, ok := nameComment(raw); ok {
			p.pendingName, p.pendingNameLine = n, p.line
		}
		return nil
	}
	// Any other line, blank ones included, ends a name's claim.
	peerName, peerNameLine := p.pendingName, p.pendingNameLine
	p.pendingName, p.pendingNameLine = "", 0
	if i := bytes.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	if p.opts.Quick && p.section == sectionInterface {
		if k, v, ok := bytes.Cut(raw, []byte{'='}); ok {
			key := string(bytes.TrimFunc(k, isSpaceRune))
			if isQuickKey(key) {
				return p.quick(key, string(bytes.TrimFunc(v, isSpaceRune)))
			}
		}
	}

	clean := make([]byte, 0, len(raw))
	for _, c := range raw {
		if !isSpace(c) {
			clean = append(clean, c)
		}
	}
	if len(clean) == 0 {
		return nil
	}
	line := string(clean)
	switch {
	case strings.EqualFold(line, "[Interface]"):
		p.section = sectionInterface
		return nil
	case strings.EqualFold(line, "[Peer]"):
		p.section = sectionPeer
		p.f.Peers = append(p.f.Peers, Peer{Name: peerName})
		p.peerLines = append(p.peerLines, p.line)
		p.nameLines = append(p.nameLines, peerNameLine)
		p.hasPublicKey = append(p.hasPublicKey, false)
		return nil
	}

	key, value, ok := strings.Cut(line, "=")
	if !ok {
		if len(line) > 2 && line[0] == '[' && line[len(line)-1] == ']' && safeName(line[1:len(line)-1]) {
			return unrecognized("Line unrecognized: unknown section `%s'", line)
		}
		return unrecognized("Line unrecognized: expected a section header or Key = Value")
	}
	if value == "" {
		if safeName(key) {
			return unrecognized("Line unrecognized: `%s' without a value", key)
		}
		return unrecognized("Line unrecognized: expected a section header or Key = Value")
	}

	switch p.section {
	case sectionInterface:
		return p.interfaceKey(key, value)
	case sectionPeer:
		return p.peerKey(key, value)
	}
	if safeName(key) {
		return unrecognized("Line unrecognized: `%s' outside of an [Interface] or [Peer] section", key)
	}
	return unrecognized("Line unrecognized: outside of an [Interface] or [Peer] section")
}

func (p *parser) interfaceKey(key, value string) error {
	in := &p.f.Interface
	switch strings.ToLower(key) {
	case "privatekey":
		k, err := ParseKey(value)
		if err != nil {
			return err
		}
		pk := noise.PrivateKey(k)
		in.PrivateKey = &pk
	case "listenport":
		port, err := ParsePort(value)
		if err != nil {
			return err
		}
		in.ListenPort = &port
	case "fwmark":
		mark, err := ParseFwMark(value)
		if err != nil {
			return err
		}
		in.FwMark = &mark
	default:
		return p.unknownKey(key)
	}
	return nil
}

func (p *parser) peerKey(key, value string) error {
	peer := &p.f.Peers[len(p.f.Peers)-1]
	switch strings.ToLower(key) {
	case "publickey":
		k, err := ParseKey(value)
		if err != nil {
			return err
		}
		peer.PublicKey = k
		p.hasPublicKey[len(p.hasPublicKey)-1] = true
	case "presharedkey":
		k, err := ParseKey(value)
		if err != nil {
			return err
		}
		psk := noise.PresharedKey(k)
		peer.PresharedKey = &psk
	case "allowedips":
		ips, err := ParseAllowedIPs(value, p.warn)
		if err != nil {
			return err
		}
		peer.AllowedIPs = append(peer.AllowedIPs, ips...)
	case "endpoint":
		if err := checkEndpoint(value); err != nil {
			return err
		}
		peer.Endpoint = value
	case "persistentkeepalive":
		n, err := ParseKeepalive(value)
		if err != nil {
			return err
		}
		peer.PersistentKeepalive = &n
	default:
		return p.unknownKey(key)
	}
	return nil
}

func (p *parser) unknownKey(key string) error {
	switch {
	case !safeName(key):
		return unrecognized("Line unrecognized: unknown key")
	case p.section == sectionInterface && isQuickKey(key) && !p.opts.Quick:
		return &valueError{
			msg:  fmt.Sprintf("Line unrecognized: `%s' is a wg-quick key, which wg does not accept", key),
			errs: []error{ErrUnrecognized, ErrQuickOnly},
		}
	case p.section == sectionInterface:
		return unrecognized("Line unrecognized: `%s' is not a key of [Interface]", key)
	default:
		return unrecognized("Line unrecognized: `%s' is not a key of [Peer]", key)
	}
}

func unrecognized(format string, args ...any) error {
	return &valueError{msg: fmt.Sprintf(format, args...), errs: []error{ErrUnrecognized}}
}

// safeName reports whether s looks like a key name and so may be repeated in
// an error message: a mistyped line could otherwise hold a key.
func safeName(s string) bool {
	if s == "" || len(s) > 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// validSearchDomain reports whether s may be handed to resolvconf,
// resolvectl or resolv.conf as a search domain: at most 253 bytes of
// letters, digits, '-', '_', dots and UTF-8 (IDN) bytes, not starting with
// '-' (resolvectl would take it for an option) or '.', and no control
// characters (a NUL or newline would end or add a resolv.conf line).
func validSearchDomain(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '-' || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c >= 0x80:
		default:
			return false
		}
	}
	return true
}

func isSpaceRune(r rune) bool { return r < 0x80 && isSpace(byte(r)) }

// splitList splits a wg-quick list value at commas and whitespace, as
// wg-quick's "${value//,/ }" word splitting does.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || isSpaceRune(r) })
}

func (p *parser) quick(key, value string) error {
	in := &p.f.Interface
	switch strings.ToLower(key) {
	case "address":
		for _, v := range splitList(value) {
			a, err := parseAddress(v)
			if err != nil {
				return err
			}
			in.Addresses = append(in.Addresses, a)
		}
	case "dns":
		for _, v := range splitList(value) {
			if a, err := ParseIP(v); err == nil {
				in.DNS = append(in.DNS, a)
				continue
			}
			// wg-quick takes what looks numeric or holds a colon for a
			// server address, the rest for search domains.
			if strings.ContainsRune(v, ':') || strings.Trim(v, "0123456789.") == "" {
				return invalid("DNS server is not a valid IP address: `%s'", v)
			}
			if !validSearchDomain(v) {
				return invalid("DNS search domain is not a domain name (letters, digits, '-', '_' and dots, not starting with '-' or '.'): `%s'", v)
			}
			in.DNSSearch = append(in.DNSSearch, v)
		}
	case "mtu":
		if value == "" {
			in.MTU = 0
			return nil
		}
		n, err := strconv.ParseUint(value, 10, 16)
		if err != nil || n == 0 || !allDigits(value) {
			return invalid("MTU is not a number between 1 and 65535: `%s'", value)
		}
		in.MTU = int(n)
	case "table":
		in.Table = value
	case "preup":
		in.PreUp = appendHook(in.PreUp, value)
	case "postup":
		in.PostUp = appendHook(in.PostUp, value)
	case "predown":
		in.PreDown = appendHook(in.PreDown, value)
	case "postdown":
		in.PostDown = appendHook(in.PostDown, value)
	case "saveconfig":
		switch {
		case strings.EqualFold(value, "true"):
			in.SaveConfig = true
		case strings.EqualFold(value, "false"):
			in.SaveConfig = false
		default:
			return invalid("`%s' is neither true nor false", value)
		}
	}
	return nil
}

func appendHook(hooks []string, cmd string) []string {
	if cmd == "" {
		return hooks
	}
	return append(hooks, cmd)
}

// parseAddress parses an interface address: an IP with an optional prefix
// length (full length when absent).
func parseAddress(s string) (netip.Prefix, error) {
	ip, bits, hasBits := strings.Cut(s, "/")
	a, err := ParseIP(ip)
	if err != nil {
		return netip.Prefix{}, invalid("Address is not in the correct format: `%s'", s)
	}
	n := a.BitLen()
	if hasBits {
		v, err := strconv.ParseUint(bits, 10, 8)
		if err != nil || !allDigits(bits) || int(v) > a.BitLen() {
			return netip.Prefix{}, invalid("Address is not in the correct format: `%s'", s)
		}
		n = int(v)
	}
	return netip.PrefixFrom(a, n), nil
}
