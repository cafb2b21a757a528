package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestErrorsHidePeer: with the peer gone, what a client reads back (the
// HTTP proxy's 502 body, every byte of a SOCKS5 reply) names the reason
// but neither the peer's public key nor its real endpoint; the log, which
// is the operator's, names both.
func TestErrorsHidePeer(t *testing.T) {
	checkGoroutines(t)
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
		Endpoint: "203.0.113.5:51820", Reason: ErrNoHandshake, Err: errors.New("netstack: dial tcp 10.0.0.1:80: context deadline exceeded")}
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
}
