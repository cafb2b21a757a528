package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	xproxy "golang.org/x/net/proxy"

	"github.com/warren-vpn/warren/internal/peerweb"
	"github.com/warren-vpn/warren/internal/testenv"
)

// startSOCKS5 serves s on a loopback port and returns its address.
func startSOCKS5(t testing.TB, s *SOCKS5Server) string {
	t.Helper()
	return serveLoopback(t, s.Serve, s.Close)
}

// serveLoopback runs serve on a fresh loopback port until the test ends,
// when stop must make it return nil (testenv.Serve), and returns the
// port's address.
func serveLoopback(t testing.TB, serve func(net.Listener) error, stop func() error) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Serve(t, func() error { return serve(l) }, stop)
	return l.Addr().String()
}

// httpVia returns an HTTP client whose connections go through a SOCKS5
// proxy at addr.
func httpVia(t testing.TB, addr string, auth *xproxy.Auth) *http.Client {
	t.Helper()
	d, err := xproxy.SOCKS5("tcp", addr, auth, xproxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{
		DialContext:       d.(xproxy.ContextDialer).DialContext,
		DisableKeepAlives: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: clientTimeout()}
}

func get(t testing.TB, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b)
}

// testEnv is warren's tunnel to a reference peer serving HTTP, echo and DNS.
type testEnv struct {
	ref *refPeer
	tun *Tunnel
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	ref := newRefPeer(t)
	ref.serveHTTP(t)
	ref.serveEcho(t)
	ref.serveDNS(t)
	return &testEnv{ref: ref, tun: openWarren(t, ref)}
}

func TestSOCKS5Connect(t *testing.T) {
	testenv.CheckGoroutines(t)
	t.Logf("running as uid %d", os.Getuid())
	env := newEnv(t)
	addr := startSOCKS5(t, &SOCKS5Server{Net: env.tun, Logf: t.Logf})
	c := httpVia(t, addr, nil)
	for _, tc := range []struct{ name, url string }{
		{"IPv4", "http://10.77.0.1/hello"},
		{"IPv6", "http://[fd77::1]/hello"},
		{"domain", "http://" + refName + "/hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := get(t, c, tc.url)
			if !strings.HasPrefix(body, "hello from the reference") {
				t.Fatalf("body %q", body)
			}
			// The reference saw warren's tunnel address as the source.
			if !strings.Contains(body, warrenV4.String()) && !strings.Contains(body, warrenV6.String()) {
				t.Errorf("source not a tunnel address: %q", body)
			}
		})
	}
}

func TestSOCKS5Auth(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	addr := startSOCKS5(t, &SOCKS5Server{Net: env.tun, Username: "alice", Password: "s3cret"})
	if body := get(t, httpVia(t, addr, &xproxy.Auth{User: "alice", Password: "s3cret"}), "http://10.77.0.1/hello"); !strings.HasPrefix(body, "hello") {
		t.Fatalf("body %q", body)
	}
	for name, auth := range map[string]*xproxy.Auth{
		"wrong password": {User: "alice", Password: "nope"},
		"no auth":        nil,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := httpVia(t, addr, auth).Get("http://10.77.0.1/hello"); err == nil {
				t.Fatal("request succeeded")
			}
		})
	}
}

// socksHandshake performs the no-auth greeting and sends req.
func socksHandshake(t *testing.T, addr string, req []byte) (net.Conn, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write([]byte{5, 1, 0}); err != nil {
		t.Fatal(err)
	}
	var sel [2]byte
	if _, err := io.ReadFull(c, sel[:]); err != nil || sel != [2]byte{5, 0} {
		t.Fatalf("method selection %v, %v", sel, err)
	}
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	var rep [4]byte
	if _, err := io.ReadFull(c, rep[:]); err != nil {
		t.Fatalf("read reply: %v", err)
	}
	var rest []byte
	switch rep[3] {
	case atypIPv4:
		rest = make([]byte, 6)
	case atypIPv6:
		rest = make([]byte, 18)
	default:
		t.Fatalf("reply address type %d", rep[3])
	}
	if _, err := io.ReadFull(c, rest); err != nil {
		t.Fatal(err)
	}
	return c, append(rep[:], rest...)
}

func TestSOCKS5Replies(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	addr := startSOCKS5(t, &SOCKS5Server{Net: env.tun})
	for _, tc := range []struct {
		name string
		req  []byte
		rep  byte
	}{
		{"bind unsupported", []byte{5, cmdBind, 0, atypIPv4, 10, 77, 0, 1, 0, 80}, repCommandUnsupported},
		{"unknown command", []byte{5, 9, 0, atypIPv4, 10, 77, 0, 1, 0, 80}, repCommandUnsupported},
		{"unknown address type", []byte{5, cmdConnect, 0, 7}, repAddressUnsupported},
		{"no route", []byte{5, cmdConnect, 0, atypIPv4, 192, 0, 2, 1, 0, 80}, repNetworkUnreachable},
		{"refused", []byte{5, cmdConnect, 0, atypIPv4, 10, 77, 0, 1, 0, 81}, repConnectionRefused},
		{"unknown name", append(append([]byte{5, cmdConnect, 0, atypDomain, 12}, "nx.tunnel.ts"...), 0, 80), repHostUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, rep := socksHandshake(t, addr, tc.req)
			if rep[1] != tc.rep {
				t.Errorf("reply %d, want %d", rep[1], tc.rep)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("reply took %v", d)
			}
		})
	}
}

// TestSOCKS5DeadPeer: with the peer gone, a CONNECT gets "host
// unreachable" once the handshake wait has passed, long before the dial
// timeout (set far beyond the test's deadlines, so that only the wait can
// end the dial: the exact bound is checked on a manual clock in
// TestDialHandshakeWait); the log line names the handshake, the peer and
// the attempts, and the dial once.
func TestSOCKS5DeadPeer(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	env.ref.dev.Close()
	env.tun.dialTimeout = 10 * time.Minute
	var logs logBuffer
	s := &SOCKS5Server{Net: env.tun, Logf: logs.Logf}
	addr := startSOCKS5(t, s)
	start := time.Now()
	_, rep := socksHandshake(t, addr, []byte{5, cmdConnect, 0, atypIPv4, 10, 77, 0, 1, 0, 80})
	if rep[1] != repHostUnreachable {
		t.Errorf("reply %d, want %d (host unreachable)", rep[1], repHostUnreachable)
	}
	t.Logf("reply after %v", time.Since(start))
	s.Close()
	log := logs.String()
	if !regexp.MustCompile(`^socks5 127\.0\.0\.1:\d+: CONNECT: dial tcp 10\.77\.0\.1:80: handshake with peer \S+ at 127\.0\.0\.1:\d+ has not completed after \d+ attempts?\n$`).MatchString(log) ||
		!strings.Contains(log, env.ref.priv.PublicKey().String()) {
		t.Errorf("log does not name the handshake, the peer and the attempts once: %q", log)
	}
}

// TestSOCKS5Garbage: a client speaking garbage is dropped; another client
// at the same time is served.
func TestSOCKS5Garbage(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	addr := startSOCKS5(t, &SOCKS5Server{Net: env.tun})
	for _, junk := range [][]byte{
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		{5, 0},
		{5, 1, 0, 4, 1, 0, 0},
		bytes.Repeat([]byte{0xff}, 1000),
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(junk)
		if cw, ok := c.(*net.TCPConn); ok {
			cw.CloseWrite()
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		// Closed, either cleanly or with a reset for the unread junk.
		if _, err := io.ReadAll(c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("junk %.20q: connection not closed: %v", junk, err)
		}
		c.Close()
	}
	if body := get(t, httpVia(t, addr, nil), "http://10.77.0.1/hello"); !strings.HasPrefix(body, "hello") {
		t.Fatalf("body %q", body)
	}
}

func TestSOCKS5UDPAssociate(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	addr := startSOCKS5(t, &SOCKS5Server{Net: env.tun})
	ctrl, rep := socksHandshake(t, addr, []byte{5, cmdUDPAssociate, 0, atypIPv4, 0, 0, 0, 0, 0, 0})
	if rep[1] != repSucceeded {
		t.Fatalf("reply %d", rep[1])
	}
	relay := netip.AddrPortFrom(netip.AddrFrom4([4]byte(rep[4:8])), binary.BigEndian.Uint16(rep[8:10]))
	u, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(relay))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for _, dst := range []struct {
		name string
		hdr  []byte
	}{
		{"IPv4", []byte{0, 0, 0, atypIPv4, 10, 77, 0, 1, 0, 7}},
		{"IPv6", append(append([]byte{0, 0, 0, atypIPv6}, refV6.AsSlice()...), 0, 7)},
		{"domain", append(append([]byte{0, 0, 0, atypDomain, byte(len(refName))}, refName...), 0, 7)},
	} {
		t.Run(dst.name, func(t *testing.T) {
			buf := make([]byte, 2000)
			for try := 0; ; try++ {
				u.Write(append(append([]byte(nil), dst.hdr...), "ping "+dst.name...))
				u.SetReadDeadline(time.Now().Add(time.Second))
				n, err := u.Read(buf)
				if err != nil {
					if try < 8 {
						continue
					}
					t.Fatal(err)
				}
				src, payload, err := parseUDPDatagram(buf[:n])
				if err != nil {
					t.Fatal(err)
				}
				if string(payload) != "echo:ping "+dst.name {
					t.Fatalf("payload %q", payload)
				}
				if src.Port != 7 || (src.IP != refV4 && src.IP != refV6) {
					t.Fatalf("reply from %v", src)
				}
				return
			}
		})
	}
	ctrl.Close()
}

// TestSOCKS5Download fetches 64 MiB through the proxy and checks its hash.
func TestSOCKS5Download(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB transfer")
	}
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	addr := startSOCKS5(t, &SOCKS5Server{Net: env.tun})
	n := bulkSize()
	download(t, httpVia(t, addr, nil), "http://"+refName+"/bytes?n="+strconv.FormatInt(n, 10), n)
}

func TestReplyCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want byte
	}{
		{&DialError{Reason: ErrNoRoute}, repNetworkUnreachable},
		{&DialError{Reason: ErrRefused}, repConnectionRefused},
		{&DialError{Reason: ErrNoHandshake}, repHostUnreachable},
		{&DialError{Reason: ErrResolve}, repHostUnreachable},
		{context.DeadlineExceeded, repHostUnreachable},
		{errors.New("other"), repGeneralFailure},
	} {
		if got := replyCode(tc.err); got != tc.want {
			t.Errorf("replyCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// logBuffer collects log lines from concurrent goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, format+"\n", args...)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestHTTPDeadPeer: with the peer gone, the HTTP proxy answers 502 saying
// the tunnel's peer has not answered a handshake and how often it was
// tried, once the handshake wait has passed; the dial timeout is set far
// beyond the client's, so that only the wait can end the dial in time.
func TestHTTPDeadPeer(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	env.ref.dev.Close()
	env.tun.dialTimeout = 10 * time.Minute
	var logs logBuffer
	addr := startHTTP(t, &HTTPServer{Net: env.tun, Logf: logs.Logf})
	start := time.Now()
	resp, err := httpProxyClient(t, addr, "", "").Get("http://10.77.0.1/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("502 after %v", time.Since(start))
	if resp.StatusCode != http.StatusBadGateway ||
		!regexp.MustCompile(`^warren proxy: dial tcp 10\.77\.0\.1:80: the tunnel's peer has not answered a handshake \(\d+ attempts?\)\n$`).Match(body) {
		t.Errorf("%s %q, want 502 saying the peer has not answered a handshake", resp.Status, body)
	}
	if n := strings.Count(logs.String(), "dial tcp 10.77.0.1:80"); n != 1 {
		t.Errorf("the log names the dial %d times, want once: %q", n, logs.String())
	}
}

// TestUnprivileged runs TestSOCKS5Connect as uid 65534 (nobody), so that
// "rootless" is proven rather than assumed. It needs root and setpriv.
func TestUnprivileged(t *testing.T) {
	if os.Getenv("WARREN_PROXY_CHILD") == "1" {
		t.Skip("already the unprivileged child")
	}
	cmd := testenv.AsNobody(context.Background(), t, "-test.run=^(TestSOCKS5Connect|TestUnprivileged)$", "-test.v")
	cmd.Env = []string{"WARREN_PROXY_CHILD=1", "PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestSOCKS5Connect") || !strings.Contains(string(out), "uid 65534") {
		t.Fatalf("output:\n%s", out)
	}
}

// TestSOCKS5Concurrent: many clients at once, each with its own download,
// all get their bytes intact.
func TestSOCKS5Concurrent(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	addr := startSOCKS5(t, &SOCKS5Server{Net: env.tun})
	c := httpVia(t, addr, nil)
	const clients, n = 16, 1 << 20
	want := sha256.New()
	io.Copy(want, io.LimitReader(peerweb.NewStream(), n))
	errs := make(chan error, clients)
	for i := range clients {
		go func() {
			host := "10.77.0.1"
			if i%2 == 1 {
				host = "[fd77::1]"
			}
			resp, err := c.Get("http://" + host + "/bytes?n=" + strconv.Itoa(n))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			h := sha256.New()
			if got, err := io.Copy(h, resp.Body); err != nil || got != n || !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
				errs <- fmt.Errorf("client %d: %d bytes, %v", i, got, err)
				return
			}
			errs <- nil
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
