package webui

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/manager/managertest"
	"github.com/warren-vpn/warren/internal/noise"
)

const testHost = "127.0.0.1:51821"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t      *testing.T
	s      *Server
	m      *manager.Manager
	sys    *managertest.System
	store  *managertest.Store
	clock  *clock
	cookie string // the session's secret, after login
	state  string
}

func newFixture(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	return newFixtureWith(t, nil, mod)
}

// newFixtureWith also adjusts the manager's options.
func newFixtureWith(t *testing.T, mmod func(*manager.Options), mod func(*Options)) *fixture {
	t.Helper()
	store := managertest.NewStore()
	sys := managertest.NewSystem(store, t.TempDir())
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	state := t.TempDir() + "/state"
	mopts := manager.Options{
		System: sys, Store: store, StateDir: state, SamplePeriod: time.Hour, Now: c.now,
		Argon2: &manager.Argon2Params{Time: 1, Memory: 64, Threads: 1, KeyLen: 32},
	}
	if mmod != nil {
		mmod(&mopts)
	}
	m, err := manager.New(mopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	opts := Options{Manager: m, Listen: netip.MustParseAddrPort(testHost), Now: c.now, Heartbeat: 50 * time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, s: s, m: m, sys: sys, store: store, clock: c, state: state}
}

// req makes a same-origin request as a browser on this page would.
func (f *fixture) req(method, path string, body any) *http.Request {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req := httptest.NewRequest(method, path, r)
	req.Host = testHost
	req.RemoteAddr = "127.0.0.1:40000"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", "http://"+testHost)
	}
	if f.cookie != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: f.cookie})
	}
	return req
}

func (f *fixture) do(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(w, req)
	return w
}

// call makes a same-origin request and decodes a JSON answer into out.
func (f *fixture) call(method, path string, body, out any) *httptest.ResponseRecorder {
	f.t.Helper()
	w := f.do(f.req(method, path, body))
	if out != nil && w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			f.t.Fatalf("%s %s: %d, body %q: %v", method, path, w.Code, w.Body.String(), err)
		}
	}
	return w
}

const testPassword = "correct horse battery staple"

// login sets the password through the setup secret and keeps the session.
func (f *fixture) login() {
	f.t.Helper()
	secret, err := f.m.Accounts().NewSetupSecret()
	if err != nil {
		f.t.Fatal(err)
	}
	w := f.call("POST", "/api/setup", map[string]string{"token": secret, "password": testPassword}, nil)
	if w.Code != http.StatusNoContent {
		f.t.Fatalf("setup: %d %s", w.Code, w.Body.String())
	}
	f.cookie = sessionFrom(f.t, w)
}

func sessionFrom(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookie && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("no session cookie in %v", w.Header()["Set-Cookie"])
	return ""
}

func newKey(t *testing.T) (noise.PrivateKey, noise.PublicKey) {
	t.Helper()
	k, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k, k.PublicKey()
}

// tunnelConfig is a configuration with one named peer.
func tunnelConfig(t *testing.T, peerName string) (string, noise.PublicKey) {
	priv, _ := newKey(t)
	_, peer := newKey(t)
	s := fmt.Sprintf("[Interface]\nPrivateKey = %s\nListenPort = 51820\nAddress = 10.8.0.1/24\n\n", priv.Base64())
	if peerName != "" {
		s += "# Name = " + peerName + "\n"
	}
	s += fmt.Sprintf("[Peer]\nPublicKey = %s\nAllowedIPs = 10.8.0.2/32\n", peer)
	return s, peer
}
