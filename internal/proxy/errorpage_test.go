package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netstack"
	"github.com/warren-vpn/warren/internal/testenv"
)

// TestErrorsHidePeer: with the peer gone, what a client reads back (the
// HTTP proxy's 502 body, every byte of a SOCKS5 reply) names the reason
// but neither the peer's public key nor its real endpoint; the log, which
// is the operator's, names both.
func TestErrorsHidePeer(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	key := env.ref.priv.PublicKey().String()
	endpoint := env.tun.Dev.State().Peers[0].Endpoint.String()
	env.ref.dev.Close()
	env.tun.dialTimeout = 3 * time.Second
	var logs logBuffer
	httpAddr := startHTTP(t, &HTTPServer{Net: env.tun, Logf: logs.Logf})
	socksAddr := startSOCKS5(t, &SOCKS5Server{Net: env.tun, Logf: logs.Logf})
	check := func(t *testing.T, what string, got []byte) {
		t.Helper()
		if strings.Contains(string(got), key) || strings.Contains(string(got), endpoint) {
			t.Errorf("%s reveals the peer (key %s, endpoint %s): %q", what, key, endpoint, got)
		}
	}
	for _, req := range []string{
		"CONNECT 10.77.0.1:80 HTTP/1.1\r\nHost: 10.77.0.1:80\r\n\r\n",
		"GET http://10.77.0.1/hello HTTP/1.1\r\nHost: 10.77.0.1\r\n\r\n",
	} {
		t.Run(strings.Fields(req)[0], func(t *testing.T) {
			c, err := net.Dial("tcp", httpAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(15 * time.Second))
			io.WriteString(c, req)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "handshake") {
				t.Errorf("%s %q, want 502 naming the handshake", resp.Status, body)
			}
			check(t, "502 body", body)
			for k, v := range resp.Header {
				check(t, "header "+k, []byte(strings.Join(v, " ")))
			}
		})
	}
	t.Run("SOCKS5", func(t *testing.T) {
		c, _ := socksHandshake(t, socksAddr, []byte{5, cmdConnect, 0, atypIPv4, 10, 77, 0, 1, 0, 80})
		rest, _ := io.ReadAll(c)
		check(t, "SOCKS5 reply", rest)
	})
	log := logs.String()
	if !strings.Contains(log, key) || !strings.Contains(log, endpoint) {
		t.Errorf("the log does not name the peer's key %s and endpoint %s:\n%s", key, endpoint, log)
	}
}

func TestClientReason(t *testing.T) {
	de := &DialError{Network: "tcp", Address: "10.0.0.1:80", Peer: "fKYsE0xWq3SBENZs7iG5u7PzsM4ZVbQMNyyUFfBnaQ0=",
		Endpoint: "203.0.113.5:51820", Reason: ErrNoHandshake, Err: fmt.Errorf("netstack: dial tcp 10.0.0.1:80: %w", context.DeadlineExceeded)}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{de, "dial tcp 10.0.0.1:80: handshake with the peer has not completed"},
		{fmt.Errorf("proxy: %w", de), "dial tcp 10.0.0.1:80: handshake with the peer has not completed"},
		{context.DeadlineExceeded, "the connection through the tunnel timed out"},
		{errors.New("read tcp 10.0.0.2:4000->10.0.0.1:80: connection reset by peer"), "the connection through the tunnel failed"},
	} {
		if got := clientReason(tc.err); got != tc.want {
			t.Errorf("clientReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if !strings.Contains(de.Error(), de.Peer) || !strings.Contains(de.Error(), de.Endpoint) {
		t.Errorf("Error() %q lost the peer and endpoint the log needs", de.Error())
	}
	if n := strings.Count(de.Error(), "dial tcp 10.0.0.1:80"); n != 1 {
		t.Errorf("Error() %q names the dial %d times, want once", de.Error(), n)
	}
}

// TestDialErrorText: what the log (Error) and a client (Public) are told
// for each reason: the dial named once, the peer's key and endpoint in the
// log only, the stack's own reason only where it adds to the reason.
func TestDialErrorText(t *testing.T) {
	const key = "fKYsE0xWq3SBENZs7iG5u7PzsM4ZVbQMNyyUFfBnaQ0="
	hs := &HandshakeError{Peer: key, Endpoint: "203.0.113.5:51820", Attempts: 1024, AtLeast: true,
		SendErr: errors.New("sendmsg: network is unreachable")}
	for _, tc := range []struct {
		name        string
		err         *DialError
		log, client string
		matches     []error
	}{
		{"timeout", &DialError{Network: "tcp", Address: "10.0.0.1:80", Peer: key, Endpoint: "203.0.113.5:51820", Reason: ErrTimeout,
			Err: innermost(fmt.Errorf("netstack: dial tcp 10.0.0.1:80: %w", context.DeadlineExceeded))},
			"dial tcp 10.0.0.1:80: connection timed out (peer " + key + " at 203.0.113.5:51820)",
			"dial tcp 10.0.0.1:80: connection timed out", []error{ErrTimeout}},
		{"refused", &DialError{Network: "tcp", Address: "10.0.0.1:80", Peer: key, Reason: ErrRefused,
			Err: innermost(fmt.Errorf("netstack: dial tcp 10.0.0.1:80: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}))},
			"dial tcp 10.0.0.1:80: connection refused (peer " + key + ")",
			"dial tcp 10.0.0.1:80: connection refused", []error{ErrRefused, syscall.ECONNREFUSED}},
		{"handshake", &DialError{Network: "tcp", Address: "10.0.0.1:80", Peer: key, Reason: ErrNoHandshake, Handshake: hs},
			"dial tcp 10.0.0.1:80: handshake with peer " + key + " at 203.0.113.5:51820 has not completed after at least 1024 attempts (the last could not be sent: sendmsg: network is unreachable)",
			"dial tcp 10.0.0.1:80: the tunnel's peer has not answered a handshake (at least 1024 attempts)", []error{ErrNoHandshake}},
		{"no such host", &DialError{Network: "tcp", Address: "nx.example:80", Reason: ErrResolve,
			Err: withoutLookup(fmt.Errorf("lookup nx.example: %w", netstack.ErrNotFound), "nx.example")},
			"dial tcp nx.example:80: name not resolved: no such host",
			"dial tcp nx.example:80: name not resolved: no such host", []error{ErrResolve, netstack.ErrNotFound}},
		{"DNS server's handshake", &DialError{Network: "tcp", Address: "web.example:443", Reason: ErrResolve, Handshake: hs,
			DNSServer: netip.MustParseAddr("10.0.0.53"), Err: fmt.Errorf("%w: 10.0.0.53: %w", netstack.ErrDNSServer, context.Canceled)},
			"dial tcp web.example:443: name not resolved: the tunnel's DNS server 10.0.0.53 could not be reached: handshake with peer " + key + " at 203.0.113.5:51820 has not completed after at least 1024 attempts (the last could not be sent: sendmsg: network is unreachable)",
			"dial tcp web.example:443: name not resolved: the tunnel's DNS server could not be reached: the tunnel's peer has not answered a handshake (at least 1024 attempts)",
			[]error{ErrResolve, ErrNoHandshake, netstack.ErrDNSServer}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.log {
				t.Errorf("Error()\n got %q\nwant %q", got, tc.log)
			}
			if got := tc.err.Public(); got != tc.client {
				t.Errorf("Public()\n got %q\nwant %q", got, tc.client)
			}
			for _, target := range tc.matches {
				if !errors.Is(tc.err, target) {
					t.Errorf("errors.Is(%v) is false", target)
				}
			}
		})
	}
}
