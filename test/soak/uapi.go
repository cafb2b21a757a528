package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This is a deliberately separate, minimal client of the UAPI text protocol
// (the cross-platform configuration protocol of WireGuard userspace
// implementations), so that the soak checks the daemon's socket as any
// client would, not through warren's own codec.

// key is a Curve25519 key or a preshared key.
type key [32]byte

func (k key) hex() string { return hex.EncodeToString(k[:]) }

// peerState is one peer as a get=1 answer shows it.
type peerState struct {
	endpoint      string   // "" when none
	allowed       []string // canonical prefixes, sorted
	psk           key
	lastHandshake time.Time // zero when none
}

// deviceState is a get=1 answer.
type deviceState struct {
	privateKey key
	listenPort int
	peers      map[key]*peerState
}

// uapiDo sends one request and returns the answer's lines (without the errno
// line and the blank line); a non-zero errno is an error.
func uapiDo(sock, req string) ([]string, error) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		return nil, fmt.Errorf("write %s: %w", sock, err)
	}
	r := bufio.NewReaderSize(c, 64<<10)
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", sock, err)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			return nil, fmt.Errorf("%s: answer without errno", sock)
		}
		if v, ok := strings.CutPrefix(line, "errno="); ok {
			if v != "0" {
				return lines, fmt.Errorf("%s: errno=%s", sock, v)
			}
			return lines, nil
		}
		lines = append(lines, line)
	}
}

// uapiSet applies body (key=value lines, each ending in \n).
func uapiSet(sock, body string) error {
	_, err := uapiDo(sock, "set=1\n"+body+"\n")
	return err
}

// uapiGet reads the device's state.
func uapiGet(sock string) (*deviceState, error) {
	lines, err := uapiDo(sock, "get=1\n\n")
	if err != nil {
		return nil, err
	}
	return parseGet(lines)
}

func parseGet(lines []string) (*deviceState, error) {
	d := &deviceState{peers: make(map[key]*peerState)}
	var p *peerState
	var hsSec, hsNsec int64
	finish := func() {
		if p != nil {
			slices.Sort(p.allowed)
			if hsSec != 0 || hsNsec != 0 {
				p.lastHandshake = time.Unix(hsSec, hsNsec)
			}
		}
	}
	for _, line := range lines {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("get: line %q", line)
		}
		var err error
		switch k {
		case "private_key":
			d.privateKey, err = parseHexKey(v)
		case "listen_port":
			d.listenPort, err = strconv.Atoi(v)
		case "public_key":
			finish()
			var pk key
			if pk, err = parseHexKey(v); err == nil {
				p = &peerState{}
				hsSec, hsNsec = 0, 0
				d.peers[pk] = p
			}
		case "preshared_key", "endpoint", "allowed_ip", "last_handshake_time_sec", "last_handshake_time_nsec":
			if p == nil {
				return nil, fmt.Errorf("get: %s before public_key", k)
			}
			switch k {
			case "preshared_key":
				p.psk, err = parseHexKey(v)
			case "endpoint":
				p.endpoint = v
			case "allowed_ip":
				var pfx netip.Prefix
				if pfx, err = netip.ParsePrefix(v); err == nil {
					p.allowed = append(p.allowed, pfx.Masked().String())
				}
			case "last_handshake_time_sec":
				hsSec, err = strconv.ParseInt(v, 10, 64)
			case "last_handshake_time_nsec":
				hsNsec, err = strconv.ParseInt(v, 10, 64)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("get: %s=%s: %w", k, v, err)
		}
	}
	finish()
	return d, nil
}

func parseHexKey(s string) (key, error) {
	var k key
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(k) {
		return k, fmt.Errorf("not a 32-byte hex key")
	}
	copy(k[:], b)
	return k, nil
}
