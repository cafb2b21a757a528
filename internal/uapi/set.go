package uapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// ParseSet reads the body of a set=1 request, the key=value lines after
// "set=1\n", up to and including the blank line that ends it (or the end of
// r), and returns it as one Config. Nothing is applied: the caller applies the
// whole Config or nothing.
//
// Semantics follow wireguard-go line by line, folded into the typed form:
// a zero private_key or preshared_key means "remove"; replace_allowed_ips
// drops the allowed_ip lines before it; the same public_key may appear more
// than once and yields one PeerConfig per appearance, to be applied in order.
// A private key is clamped. A line without '=' is EPROTO; every other fault
// (unknown key, bad value, device key after the first public_key, peer key
// before it) is EINVAL. Errors are *Error and never contain key material.
//
// An error names the offending key and the line as the client counts it in
// the whole request, "set=1" being line 1: the first line read from r is
// line 2 ("set request line 2: listen_port: ...").
//
// If r is a *bufio.Reader, ParseSet reads nothing past the blank line.
func ParseSet(r io.Reader) (*wgtypes.Config, error) {
	cfg, _, err := parseSet(newLineReader(r), DefaultMaxPeers)
	return cfg, err
}

// setParser folds set lines into a Config.
type setParser struct {
	cfg      wgtypes.Config
	peer     *wgtypes.PeerConfig // nil while in the device section
	nAllowed int
	maxPeers int // public_key lines allowed
}

// parseSet parses a set body. ended reports whether the blank line was seen.
// On a syntax error the rest of the body is not read. More than maxPeers
// public_key lines are an error (EINVAL) naming the limit.
func parseSet(lr *lineReader, maxPeers int) (cfg *wgtypes.Config, ended bool, err error) {
	p := setParser{maxPeers: maxPeers}
	start := lr.n
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			return &p.cfg, false, nil
		}
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				return nil, false, errorf(errnoInvalid, "set request line %d: %w", requestLine(lr.n-start+1), err)
			}
			return nil, false, errorf(errnoIO, "read set request: %w", err)
		}
		// wireguard-go reads with bufio.ScanLines, which drops one '\r'.
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			return &p.cfg, true, nil
		}
		if lr.n-start > MaxLines {
			return nil, false, errorf(errnoInvalid, "set request has more than %d lines", MaxLines)
		}
		if err := p.line(line); err != nil {
			return nil, false, &Error{Errno: err.Errno, Err: fmt.Errorf("set request line %d: %w", requestLine(lr.n-start), err.Err)}
		}
	}
}

// requestLine turns the number of a line of the body (from 1) into the
// line of the request as its client counts it: "set=1" is line 1.
func requestLine(n int) int { return n + 1 }

func (p *setParser) line(line string) *Error {
	key, value, ok := strings.Cut(line, "=")
	if !ok {
		// The line may be a bare key: do not echo it.
		return errorf(errnoProtocol, "not key=value")
	}
	if key == "public_key" {
		return p.publicKey(value)
	}
	if p.peer == nil {
		return p.deviceLine(key, value)
	}
	return p.peerLine(key, value)
}

func (p *setParser) deviceLine(key, value string) *Error {
	switch key {
	case "private_key":
		k, err := noise.ParseHexKey(value)
		if err != nil {
			return errorf(errnoInvalid, "private_key: %w", err)
		}
		pk := noise.PrivateKey(k)
		if !pk.IsZero() {
			pk = pk.Clamped()
		}
		p.cfg.PrivateKey = &pk
	case "listen_port":
		n, err := parseUint(value, 16)
		if err != nil {
			return errorf(errnoInvalid, "listen_port: %w", err)
		}
		port := uint16(n)
		p.cfg.ListenPort = &port
	case "fwmark":
		n, err := parseUint(value, 32)
		if err != nil {
			return errorf(errnoInvalid, "fwmark: %w", err)
		}
		mark := uint32(n)
		p.cfg.FwMark = &mark
	case "replace_peers":
		if value != "true" {
			return errorf(errnoInvalid, "replace_peers: %q is not \"true\"", clip(value))
		}
		p.cfg.ReplacePeers = true
	default:
		if isPeerKey(key) {
			return errorf(errnoInvalid, "%s: a peer's key before the first public_key", clip(key))
		}
		return errorf(errnoInvalid, "%q: no such device key", clip(key))
	}
	return nil
}

func (p *setParser) publicKey(value string) *Error {
	k, err := noise.ParseHexKey(value)
	if err != nil {
		return errorf(errnoInvalid, "public_key: %w", err)
	}
	if len(p.cfg.Peers) >= p.maxPeers {
		return errorf(errnoInvalid, "public_key: more than %d peers in one request (the device's peer limit)", p.maxPeers)
	}
	p.cfg.Peers = append(p.cfg.Peers, wgtypes.PeerConfig{PublicKey: k})
	p.peer = &p.cfg.Peers[len(p.cfg.Peers)-1]
	return nil
}

func (p *setParser) peerLine(key, value string) *Error {
	peer := p.peer
	switch key {
	case "update_only":
		if value != "true" {
			return errorf(errnoInvalid, "update_only: %q is not \"true\"", clip(value))
		}
		peer.UpdateOnly = true
	case "remove":
		if value != "true" {
			return errorf(errnoInvalid, "remove: %q is not \"true\"", clip(value))
		}
		peer.Remove = true
	case "preshared_key":
		k, err := noise.ParseHexKey(value)
		if err != nil {
			return errorf(errnoInvalid, "preshared_key: %w", err)
		}
		psk := noise.PresharedKey(k)
		peer.PresharedKey = &psk
	case "endpoint":
		ep, err := netip.ParseAddrPort(value)
		if err != nil {
			return errorf(errnoInvalid, "endpoint: %q: %w", clip(value), err)
		}
		peer.Endpoint = &ep
	case "persistent_keepalive_interval":
		n, err := parseUint(value, 16)
		if err != nil {
			return errorf(errnoInvalid, "persistent_keepalive_interval: %w", err)
		}
		secs := uint16(n)
		peer.PersistentKeepaliveInterval = &secs
	case "replace_allowed_ips":
		if value != "true" {
			return errorf(errnoInvalid, "replace_allowed_ips: %q is not \"true\"", clip(value))
		}
		// Lines before it are replaced too: wireguard-go applies in order.
		p.nAllowed -= len(peer.AllowedIPs) + len(peer.RemoveAllowedIPs)
		peer.AllowedIPs, peer.RemoveAllowedIPs = nil, nil
		peer.ReplaceAllowedIPs = true
	case "allowed_ip":
		// "-PREFIX" removes one prefix from the peer, as wireguard-go and
		// the kernel's WGALLOWEDIP_F_REMOVE_ME do.
		remove := strings.HasPrefix(value, "-")
		pfx, err := netip.ParsePrefix(strings.TrimPrefix(value, "-"))
		if err != nil {
			return errorf(errnoInvalid, "allowed_ip: %q: %w", clip(value), err)
		}
		if p.nAllowed >= MaxAllowedIPs {
			return errorf(errnoInvalid, "allowed_ip: more than %d allowed IPs", MaxAllowedIPs)
		}
		p.nAllowed++
		if remove {
			peer.RemoveAllowedIPs = append(peer.RemoveAllowedIPs, pfx)
		} else {
			peer.AllowedIPs = append(peer.AllowedIPs, pfx)
		}
	case "protocol_version":
		if value != "1" {
			return errorf(errnoInvalid, "protocol_version: %q is not 1", clip(value))
		}
		v := 1
		peer.ProtocolVersion = &v
	default:
		if isDeviceKey(key) {
			return errorf(errnoInvalid, "%s: a device key after the first public_key", clip(key))
		}
		return errorf(errnoInvalid, "%q: no such peer key", clip(key))
	}
	return nil
}

// isDeviceKey and isPeerKey tell a key in the wrong section from an
// unknown one, for the error.
func isDeviceKey(key string) bool {
	switch key {
	case "private_key", "listen_port", "fwmark", "replace_peers":
		return true
	}
	return false
}

func isPeerKey(key string) bool {
	switch key {
	case "update_only", "remove", "preshared_key", "endpoint", "persistent_keepalive_interval",
		"replace_allowed_ips", "allowed_ip", "protocol_version":
		return true
	}
	return false
}

// parseUint parses a decimal number as wireguard-go does: digits only.
func parseUint(s string, bits int) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err // the value is quoted below, clipped
		}
		return 0, fmt.Errorf("%q: %w", clip(s), err)
	}
	return n, nil
}

// clip shortens a client-supplied string for an error message.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// WriteSet writes cfg as the body of a set=1 request, including the blank
// line that ends it; ParseSet reads it back to an equal Config. It writes
// every field, even of a peer being removed, and refuses (with an error
// wrapping wgtypes.ErrInvalidConfig) what no server would accept: an invalid
// endpoint or prefix, or a protocol version other than 1.
func WriteSet(w io.Writer, cfg *wgtypes.Config) error {
	var b bytes.Buffer
	if cfg.PrivateKey != nil {
		writeKey(&b, "private_key", (*[noise.KeySize]byte)(cfg.PrivateKey))
	}
	if cfg.ListenPort != nil {
		fmt.Fprintf(&b, "listen_port=%d\n", *cfg.ListenPort)
	}
	if cfg.FwMark != nil {
		fmt.Fprintf(&b, "fwmark=%d\n", *cfg.FwMark)
	}
	if cfg.ReplacePeers {
		b.WriteString("replace_peers=true\n")
	}
	for i := range cfg.Peers {
		if err := writeSetPeer(&b, &cfg.Peers[i]); err != nil {
			clear(b.Bytes())
			return fmt.Errorf("uapi: peer %d: %w", i, err)
		}
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	clear(b.Bytes()) // the buffer may hold a private key
	if err != nil {
		return fmt.Errorf("uapi: write set request: %w", err)
	}
	return nil
}

func writeSetPeer(b *bytes.Buffer, p *wgtypes.PeerConfig) error {
	writeKey(b, "public_key", (*[noise.KeySize]byte)(&p.PublicKey))
	if p.UpdateOnly {
		b.WriteString("update_only=true\n")
	}
	if p.Remove {
		b.WriteString("remove=true\n")
	}
	if p.PresharedKey != nil {
		writeKey(b, "preshared_key", (*[noise.KeySize]byte)(p.PresharedKey))
	}
	if p.Endpoint != nil {
		if !p.Endpoint.IsValid() {
			return fmt.Errorf("%w: invalid endpoint", wgtypes.ErrInvalidConfig)
		}
		fmt.Fprintf(b, "endpoint=%s\n", p.Endpoint)
	}
	if p.PersistentKeepaliveInterval != nil {
		fmt.Fprintf(b, "persistent_keepalive_interval=%d\n", *p.PersistentKeepaliveInterval)
	}
	if p.ReplaceAllowedIPs {
		b.WriteString("replace_allowed_ips=true\n")
	}
	for _, pfx := range p.RemoveAllowedIPs {
		if !pfx.IsValid() {
			return fmt.Errorf("%w: invalid allowed IP to remove", wgtypes.ErrInvalidConfig)
		}
		fmt.Fprintf(b, "allowed_ip=-%s\n", pfx)
	}
	for _, pfx := range p.AllowedIPs {
		if !pfx.IsValid() {
			return fmt.Errorf("%w: invalid allowed IP", wgtypes.ErrInvalidConfig)
		}
		fmt.Fprintf(b, "allowed_ip=%s\n", pfx)
	}
	if p.ProtocolVersion != nil {
		if *p.ProtocolVersion != 1 {
			return fmt.Errorf("%w: protocol version %d is not 1", wgtypes.ErrInvalidConfig, *p.ProtocolVersion)
		}
		b.WriteString("protocol_version=1\n")
	}
	return nil
}

// writeKey writes key=<64 lowercase hex digits>\n without an intermediate
// string, so that secrets are not left behind in garbage.
func writeKey(b *bytes.Buffer, name string, k *[noise.KeySize]byte) {
	const digits = "0123456789abcdef"
	b.WriteString(name)
	b.WriteByte('=')
	b.Grow(2*noise.KeySize + 1)
	out := b.AvailableBuffer()[:2*noise.KeySize]
	for i, c := range k {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&0xf]
	}
	b.Write(out)
	b.WriteByte('\n')
}
