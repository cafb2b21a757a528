package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

const goodToken = "0123456789abcdef0123456789abcdef"

func tokenFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func get(t *testing.T, h http.Handler, method, path, auth string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func oneDevice(t *testing.T) Source {
	k := mustKey(t, "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=")
	return fixed(Device{Name: "wg0", Peers: []Peer{{Name: "alice", Peer: wgtypes.Peer{PublicKey: k, RxBytes: 10, TxBytes: 20}}}})
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9586":        true,
		"127.9.8.7:1":           true,
		"[::1]:9586":            true,
		"[::ffff:127.0.0.1]:80": true,
		"localhost:9586":        true,
		"LOCALHOST:9586":        true,
		":9586":                 false,
		"0.0.0.0:9586":          false,
		"[::]:9586":             false,
		"192.0.2.1:9586":        false,
		"[2001:db8::1]:9586":    false,
	} {
		got, err := IsLoopback(addr)
		if err != nil || got != want {
			t.Errorf("IsLoopback(%q) = %v, %v; want %v", addr, got, err, want)
		}
	}
	for _, bad := range []string{"", "127.0.0.1", "example.com:80", "[::1:80"} {
		if _, err := IsLoopback(bad); !errors.Is(err, ErrBadAddress) {
			t.Errorf("IsLoopback(%q): %v, want ErrBadAddress", bad, err)
		}
	}
}

// The bind policy and the token file are checked when the server is made.
func TestNewPolicy(t *testing.T) {
	src := oneDevice(t)
	missing := filepath.Join(t.TempDir(), "absent")
	for _, c := range []struct {
		name  string
		opts  Options
		want  error
		noErr bool
	}{
		{name: "loopback without token", opts: Options{Addr: "127.0.0.1:9586"}, noErr: true},
		{name: "localhost without token", opts: Options{Addr: "localhost:0"}, noErr: true},
		{name: "all addresses without token", opts: Options{Addr: ":9586"}, want: ErrTokenRequired},
		{name: "public address without token", opts: Options{Addr: "192.0.2.1:9586"}, want: ErrTokenRequired},
		{name: "v6 any without token", opts: Options{Addr: "[::]:9586"}, want: ErrTokenRequired},
		{name: "public address with token", opts: Options{Addr: "192.0.2.1:9586", TokenFile: tokenFile(t, goodToken+"\n")}, noErr: true},
		{name: "missing token file", opts: Options{Addr: "192.0.2.1:9586", TokenFile: missing}, want: ErrBadToken},
		{name: "missing token file on loopback", opts: Options{Addr: "127.0.0.1:9586", TokenFile: missing}, want: ErrBadToken},
		{name: "empty token file", opts: Options{Addr: ":1", TokenFile: tokenFile(t, " \n")}, want: ErrBadToken},
		{name: "short token", opts: Options{Addr: ":1", TokenFile: tokenFile(t, "short")}, want: ErrBadToken},
		{name: "token with a space", opts: Options{Addr: ":1", TokenFile: tokenFile(t, "0123456789 abcdef0123")}, want: ErrBadToken},
		{name: "token with = inside", opts: Options{Addr: ":1", TokenFile: tokenFile(t, "0123456789=abcdef0123")}, want: ErrBadToken},
		{name: "base64 token", opts: Options{Addr: ":1", TokenFile: tokenFile(t, "q83vEjRWeJq8/+3vEjRWeA==")}, noErr: true},
		{name: "bad address", opts: Options{Addr: "nowhere"}, want: ErrBadAddress},
	} {
		_, err := New(src, c.opts)
		switch {
		case c.noErr && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.noErr && !errors.Is(err, c.want):
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		case err != nil && strings.Contains(err.Error(), "0123456789"):
			t.Errorf("%s: the error shows the token: %v", c.name, err)
		}
	}
}

func TestBearerToken(t *testing.T) {
	s, err := New(oneDevice(t), Options{Addr: "[2001:db8::1]:9586", TokenFile: tokenFile(t, "\t"+goodToken+"\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer", http.StatusUnauthorized},
		{"Bearer ", http.StatusUnauthorized},
		{"Bearer " + goodToken[:len(goodToken)-1], http.StatusUnauthorized},
		{"Bearer " + goodToken + "0", http.StatusUnauthorized},
		{"Bearer " + strings.ToUpper(goodToken), http.StatusUnauthorized},
		{"Basic " + goodToken, http.StatusUnauthorized},
		{goodToken, http.StatusUnauthorized},
		{"Bearer " + goodToken, http.StatusOK},
		{"bearer " + goodToken, http.StatusOK},
	} {
		w := get(t, s, "GET", "/metrics", c.auth)
		if w.Code != c.want {
			t.Errorf("Authorization %q: %d, want %d", c.auth, w.Code, c.want)
		}
		if w.Code == http.StatusUnauthorized {
			if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %q", w.Header().Get("WWW-Authenticate"))
			}
			if strings.Contains(w.Body.String(), "wireguard_") {
				t.Error("a refused scrape got metrics")
			}
		}
	}
	// Probes need no token.
	for _, path := range []string{"/healthz", "/readyz"} {
		if w := get(t, s, "GET", path, ""); w.Code != http.StatusOK {
			t.Errorf("%s without a token: %d", path, w.Code)
		}
	}
}

// The served exposition has the WireGuard metrics and the Go and process
// collectors' metrics; other paths and methods are refused.
func TestServeMetrics(t *testing.T) {
	s, err := New(oneDevice(t), Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	w := get(t, s, "GET", "/metrics", "")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", w.Code, w.Body)
	}
	mfs := parse(t, w.Body)
	for _, name := range []string{nameSent, nameReceived, nameHandshake, "go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if _, ok := mfs[name]; !ok {
			t.Errorf("exposition lacks %s", name)
		}
	}
	if v := mfs[nameSent].GetMetric()[0].GetCounter().GetValue(); v != 20 {
		t.Errorf("sent %v, want 20", v)
	}
	for _, c := range []struct{ method, path string }{{"POST", "/metrics"}, {"GET", "/"}, {"GET", "/metrics/x"}, {"DELETE", "/healthz"}} {
		if w := get(t, s, c.method, c.path, ""); w.Code != http.StatusNotFound && w.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d", c.method, c.path, w.Code)
		}
	}
	if w := get(t, s, "GET", "/healthz", ""); w.Code != http.StatusOK || w.Body.String() != "ok\n" {
		t.Errorf("/healthz: %d %q", w.Code, w.Body)
	}
}

// /readyz follows the source: ready after a recent answer, asking again
// when the last one is stale, 503 while it fails; a failing source makes
// /metrics fail too.
func TestReadyz(t *testing.T) {
	var fail atomic.Bool
	var calls atomic.Int32
	src := SourceFunc(func(context.Context) ([]Device, error) {
		calls.Add(1)
		if fail.Load() {
			return nil, errors.New("uapi: dial wg0: no such device")
		}
		return nil, nil
	})
	var logged []string
	s, err := New(src, Options{Addr: "127.0.0.1:0", ReadyWithin: time.Minute, Logf: func(f string, a ...any) { logged = append(logged, f) }})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1e9, 0)
	s.collector.now = func() time.Time { return now }

	if w := get(t, s, "GET", "/readyz", ""); w.Code != http.StatusOK || calls.Load() != 1 {
		t.Fatalf("first /readyz: %d after %d calls", w.Code, calls.Load())
	}
	now = now.Add(30 * time.Second)
	fail.Store(true)
	if w := get(t, s, "GET", "/readyz", ""); w.Code != http.StatusOK || calls.Load() != 1 {
		t.Errorf("/readyz within a minute of an answer: %d after %d calls", w.Code, calls.Load())
	}
	now = now.Add(31 * time.Second)
	w := get(t, s, "GET", "/readyz", "")
	if w.Code != http.StatusServiceUnavailable || calls.Load() != 2 {
		t.Errorf("/readyz with a stale answer and a failing source: %d after %d calls", w.Code, calls.Load())
	}
	if strings.Contains(w.Body.String(), "wg0") {
		t.Errorf("/readyz shows the error to anyone: %q", w.Body)
	}
	if w := get(t, s, "GET", "/metrics", ""); w.Code != http.StatusInternalServerError {
		t.Errorf("/metrics with a failing source: %d", w.Code)
	}
	fail.Store(false)
	if w := get(t, s, "GET", "/readyz", ""); w.Code != http.StatusOK {
		t.Errorf("/readyz after the source recovered: %d", w.Code)
	}
	if len(logged) == 0 {
		t.Error("the failures were not logged")
	}
}

// ListenAndServe serves until its context ends; without a token it refuses
// a listener that is not loopback.
func TestListenAndServe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(oneDevice(t), Options{Addr: l.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	resp, err := http.Get("http://" + l.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), nameSent) {
		t.Errorf("scrape over TCP: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}

	// A tokenless server handed a listener on every address refuses it.
	all, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(context.Background(), all); !errors.Is(err, ErrTokenRequired) {
		t.Errorf("Serve on %v without a token: %v", all.Addr(), err)
	}
}
