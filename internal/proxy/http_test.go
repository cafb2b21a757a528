package proxy

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/testenv"
)

// startHTTP serves s on a loopback port and returns its address.
func startHTTP(t testing.TB, s *HTTPServer) string {
	t.Helper()
	return serveLoopback(t, s.Serve, s.Close)
}

func httpProxyClient(t testing.TB, addr, user, pass string) *http.Client {
	t.Helper()
	u := &url.URL{Scheme: "http", Host: addr}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	tr := &http.Transport{Proxy: http.ProxyURL(u), DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func TestHTTPProxyAbsoluteURI(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	addr := startHTTP(t, &HTTPServer{Net: env.tun, Logf: t.Logf})
	c := httpProxyClient(t, addr, "", "")
	for _, u := range []string{"http://10.77.0.1/hello", "http://[fd77::1]/hello", "http://" + refName + "/hello"} {
		if body := get(t, c, u); !strings.HasPrefix(body, "hello from the reference") {
			t.Errorf("%s: body %q", u, body)
		}
	}
}

// TestHTTPProxyConnect speaks CONNECT by hand and then talks to the
// reference's echo server through the tunnel.
func TestHTTPProxyConnect(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	addr := startHTTP(t, &HTTPServer{Net: env.tun})
	for _, target := range []string{"10.77.0.1:7", "[fd77::1]:7", refName + ":7"} {
		t.Run(target, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			// The first payload rides in the same write as the request.
			io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\nearly ")
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("CONNECT: %s", resp.Status)
			}
			io.WriteString(c, "bird\n")
			line, err := br.ReadString('\n')
			if err != nil || line != "early bird\n" {
				t.Fatalf("echo %q, %v", line, err)
			}
		})
	}
}

func TestHTTPProxyErrors(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	addr := startHTTP(t, &HTTPServer{Net: env.tun})
	for _, tc := range []struct {
		name, req string
		status    int
		reason    string
	}{
		{"no route", "CONNECT 192.0.2.1:80 HTTP/1.1\r\nHost: 192.0.2.1:80\r\n\r\n", 502, "AllowedIPs"},
		{"refused", "CONNECT 10.77.0.1:81 HTTP/1.1\r\nHost: 10.77.0.1:81\r\n\r\n", 502, "refused"},
		{"unknown name", "GET http://nx.tunnel.test/ HTTP/1.1\r\nHost: nx.tunnel.test\r\n\r\n", 502, "resolve"},
		{"origin form", "GET /hello HTTP/1.1\r\nHost: 10.77.0.1\r\n\r\n", 400, "proxy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, tc.req)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.reason) {
				t.Errorf("%s %q, want %d with %q", resp.Status, body, tc.status, tc.reason)
			}
		})
	}
}

func TestHTTPProxyAuth(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	addr := startHTTP(t, &HTTPServer{Net: env.tun, Username: "bob", Password: "pw:with:colons"})
	if body := get(t, httpProxyClient(t, addr, "bob", "pw:with:colons"), "http://10.77.0.1/hello"); !strings.HasPrefix(body, "hello") {
		t.Fatalf("body %q", body)
	}
	resp, err := httpProxyClient(t, addr, "bob", "wrong").Get("http://10.77.0.1/hello")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusProxyAuthRequired || resp.Header.Get("Proxy-Authenticate") == "" {
		t.Errorf("wrong password: %s", resp.Status)
	}
	// CONNECT without credentials.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "CONNECT 10.77.0.1:7 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte("bob:nope"))+"\r\n\r\n")
	r, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || r.StatusCode != http.StatusProxyAuthRequired {
		t.Fatalf("CONNECT with a wrong password: %v %v", r, err)
	}
}

// TestHTTPProxyDownload fetches 64 MiB through CONNECT and checks the hash.
func TestHTTPProxyDownload(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB transfer")
	}
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	addr := startHTTP(t, &HTTPServer{Net: env.tun})
	n := bulkSize()
	// An https-less CONNECT: make the client tunnel plain HTTP by using
	// the proxy only as a dialer.
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, target string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != 200 || br.Buffered() != 0 {
				c.Close()
				t.Errorf("CONNECT: %v %v", resp, err)
				return nil, io.ErrUnexpectedEOF
			}
			return c, nil
		},
	}
	defer tr.CloseIdleConnections()
	download(t, &http.Client{Transport: tr}, "http://"+refName+"/bytes?n="+strconv.FormatInt(n, 10), n)
}
