package peerweb

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStream: the stream is the one demo, selftest and the proxy tests
// have used (its first MiB hashes to the value they all agreed on), and
// its bytes do not depend on how reads are sized.
func TestStream(t *testing.T) {
	h := sha256.New()
	io.Copy(h, io.LimitReader(NewStream(), 1<<20))
	if got, want := hex.EncodeToString(h.Sum(nil)), "f29fb072131fcfc725b5ec446ad19960b2b1b4fd78a3cbf5867009111fe602e0"; got != want {
		t.Errorf("SHA-256 of the first MiB = %s, want %s", got, want)
	}
	want := make([]byte, 10000)
	NewStream().Read(want)
	if !bytes.HasPrefix(want, []byte{0xad, 0x4d, 0xf3, 0x0b, 0xae, 0x77, 0x1b, 0xdc}) {
		t.Errorf("first bytes %x", want[:8])
	}
	for _, size := range []int{1, 3, 7, 8, 9, 4096} {
		s, got := NewStream(), make([]byte, 0, len(want))
		for len(got) < len(want) {
			buf := make([]byte, min(size, len(want)-len(got)))
			if n, err := s.Read(buf); n != len(buf) || err != nil {
				t.Fatalf("Read(%d) = %d, %v", len(buf), n, err)
			}
			got = append(got, buf...)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("reads of %d bytes give other bytes", size)
		}
	}
}

func greet(r *http.Request) string { return "hi " + r.RemoteAddr + " at " + r.URL.Path + "\n" }

// TestHandler: the greeting on "/" and other paths, the stream's first n
// bytes with their length on "/bytes", and 400 for a bad n.
func TestHandler(t *testing.T) {
	h := Handler(Options{Greeting: greet, MaxBytes: 5000})
	get := func(target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.RemoteAddr = "10.0.0.2:1234"
		h.ServeHTTP(w, r)
		return w
	}
	for _, p := range []string{"/", "/hello"} {
		if w := get(p); w.Code != 200 || w.Body.String() != "hi 10.0.0.2:1234 at "+p+"\n" {
			t.Errorf("GET %s: %d %q", p, w.Code, w.Body.String())
		}
	}
	for _, n := range []int{0, 1, 5000} {
		w := get("/bytes?n=" + strconv.Itoa(n))
		want := make([]byte, n)
		NewStream().Read(want)
		if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), want) || w.Header().Get("Content-Length") != strconv.Itoa(n) {
			t.Errorf("GET /bytes?n=%d: %d, %d bytes (equal %v), Content-Length %q", n, w.Code, w.Body.Len(),
				bytes.Equal(w.Body.Bytes(), want), w.Header().Get("Content-Length"))
		}
	}
	for _, q := range []string{"", "?n=", "?n=x", "?n=-1", "?n=1.5", "?n=5001"} {
		if w := get("/bytes" + q); w.Code != http.StatusBadRequest {
			t.Errorf("GET /bytes%s: %d, want 400", q, w.Code)
		}
	}
	unbounded := Handler(Options{Greeting: greet})
	w := httptest.NewRecorder()
	unbounded.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/bytes?n=100000", nil))
	if w.Code != 200 || w.Body.Len() != 100000 {
		t.Errorf("without MaxBytes, GET /bytes?n=100000: %d, %d bytes", w.Code, w.Body.Len())
	}
}

// loopback is a Listener on the host's loopback: it records the addresses
// asked for and fails for fail.
type loopback struct {
	mu    sync.Mutex
	asked []netip.AddrPort
	ls    []net.Listener
	fail  netip.Addr
}

func (l *loopback) ListenTCP(ap netip.AddrPort) (net.Listener, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked = append(l.asked, ap)
	if ap.Addr() == l.fail {
		return nil, errors.New("address not available")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err == nil {
		l.ls = append(l.ls, ln)
	}
	return ln, err
}

// TestServe: the server listens on port 80 of every address and answers
// there until closed; when one address cannot be listened on, Serve fails
// naming it and leaves nothing listening.
func TestServe(t *testing.T) {
	a4, a6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")
	ln := &loopback{}
	srv, err := Serve(ln, []netip.Addr{a4, a6}, Options{Greeting: greet, ReadHeaderTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.AddrPort{netip.AddrPortFrom(a4, 80), netip.AddrPortFrom(a6, 80)}; !slices.Equal(ln.asked, want) {
		t.Errorf("listened on %v, want %v", ln.asked, want)
	}
	if srv.ReadHeaderTimeout != time.Second {
		t.Errorf("ReadHeaderTimeout %v", srv.ReadHeaderTimeout)
	}
	for _, l := range ln.ls {
		resp, err := http.Get("http://" + l.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(body), "hi 127.0.0.1:") {
			t.Errorf("GET / on %v: %q", l.Addr(), body)
		}
	}
	srv.Close()

	ln = &loopback{fail: a6}
	if srv, err := Serve(ln, []netip.Addr{a4, a6}, Options{Greeting: greet}); err == nil || srv != nil ||
		!strings.Contains(err.Error(), "[fd00::1]:80") || !strings.Contains(err.Error(), "address not available") {
		t.Fatalf("Serve with a failing address = %v, %v; want an error naming [fd00::1]:80", srv, err)
	}
	if len(ln.ls) != 1 {
		t.Fatalf("%d listeners made, want 1", len(ln.ls))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", ln.ls[0].Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the first address still accepts after Serve failed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
