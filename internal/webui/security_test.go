package webui

import (
	"bytes"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// Every page and API endpoint wants a session or a token: pages send
// browsers to the login page, the API answers 401.
func TestNoSession(t *testing.T) {
	f := newFixture(t, nil)
	conf, _ := tunnelConfig(t, "")
	f.m.Import("wg0", []byte(conf))
	for _, p := range []string{"/", "/import", "/tunnels/wg0", "/tunnels/wg0/edit", "/tunnels/wg0/log", "/log", "/settings"} {
		w := f.do(f.req("GET", p, nil))
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
			t.Errorf("GET %s without a session: %d %q, want 303 to /login", p, w.Code, w.Header().Get("Location"))
		}
		if strings.Contains(w.Body.String(), "PrivateKey") {
			t.Errorf("GET %s without a session shows the configuration", p)
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/tunnels"}, {"POST", "/api/tunnels"}, {"GET", "/api/tunnels/wg0"}, {"DELETE", "/api/tunnels/wg0"},
		{"GET", "/api/tunnels/wg0/config"}, {"PUT", "/api/tunnels/wg0/config"}, {"POST", "/api/tunnels/wg0/activate"},
		{"POST", "/api/tunnels/wg0/deactivate"}, {"POST", "/api/tunnels/wg0/peer-name"}, {"GET", "/api/tunnels/wg0/log"},
		{"GET", "/api/log"}, {"GET", "/api/events"}, {"GET", "/api/tokens"}, {"POST", "/api/tokens"},
		{"DELETE", "/api/tokens/x"}, {"POST", "/api/password"},
	} {
		w := f.do(f.req(c.method, c.path, nil))
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s %s without a session: %d, want 401", c.method, c.path, w.Code)
		}
		if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s %s: no WWW-Authenticate: Bearer", c.method, c.path)
		}
	}
	// A made-up or expired cookie is no session either.
	f.cookie = "made-up"
	if w := f.do(f.req("GET", "/api/tunnels", nil)); w.Code != http.StatusUnauthorized {
		t.Errorf("made-up cookie: %d", w.Code)
	}
	if w := f.do(f.req("POST", "/api/tunnels/wg0/activate", nil)); w.Code != http.StatusUnauthorized {
		t.Errorf("made-up cookie activates: %d", w.Code)
	}
	if len(f.sys.CallLog()) != 0 {
		t.Errorf("the system was touched: %q", f.sys.CallLog())
	}
}

// A state-changing request from another origin is refused, session or
// not; the same request from this origin works.
func TestCrossOriginRefused(t *testing.T) {
	f := newFixture(t, nil)
	f.login()
	conf, _ := tunnelConfig(t, "")
	f.m.Import("wg0", []byte(conf))
	for _, c := range []struct {
		name    string
		headers map[string]string
	}{
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"Sec-Fetch-Site same-site", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://other.localhost:51821"}},
		{"Origin only", map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/api/tunnels/wg0/activate", "/api/login", "/api/setup", "/api/logout", "/api/tokens"} {
				r := f.req("POST", path, nil)
				for k, v := range c.headers {
					if v == "" {
						r.Header.Del(k)
					} else {
						r.Header.Set(k, v)
					}
				}
				w := f.do(r)
				if w.Code != http.StatusForbidden {
					t.Errorf("POST %s: %d, want 403", path, w.Code)
				}
			}
		})
	}
	if len(f.sys.CallLog()) != 0 {
		t.Fatalf("a cross-origin request reached the system: %q", f.sys.CallLog())
	}
	// A form another site could post without a preflight is not JSON.
	r := f.req("POST", "/api/tunnels", nil)
	r.Body = http.NoBody
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.ContentLength = 10
	r.Body = ioNopCloser(strings.NewReader("name=wg1&x"))
	if w := f.do(r); w.Code != http.StatusUnsupportedMediaType {
		t.Errorf("form post: %d, want 415", w.Code)
	}
	if w := f.call("POST", "/api/tunnels/wg0/activate", nil, nil); w.Code != http.StatusOK {
		t.Errorf("same-origin activate: %d %s", w.Code, w.Body.String())
	}
}

// The Host header must name this server (DNS rebinding).
func TestForeignHost(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Hosts = []string{"vpn.example.org"} })
	f.login()
	for host, want := range map[string]int{
		"evil.example":           http.StatusMisdirectedRequest,
		"evil.example:51821":     http.StatusMisdirectedRequest,
		"localhost.evil.example": http.StatusMisdirectedRequest,
		"127.0.0.1.nip.io":       http.StatusMisdirectedRequest,
		"":                       http.StatusMisdirectedRequest,
		"192.0.2.7:51821":        http.StatusMisdirectedRequest, // not ours: listening on loopback
		"127.0.0.1:51821":        http.StatusOK,
		"localhost:51821":        http.StatusOK,
		"LOCALHOST.":             http.StatusOK,
		"[::1]:51821":            http.StatusOK,
		"127.0.0.2":              http.StatusOK,
		"vpn.example.org:51821":  http.StatusOK,
	} {
		for _, path := range []string{"/", "/api/tunnels", "/assets/app.js"} {
			r := f.req("GET", path, nil)
			r.Host = host
			if w := f.do(r); w.Code != want {
				t.Errorf("Host %q, GET %s: %d, want %d", host, path, w.Code, want)
			}
		}
	}
	// Listening on every address, any IP literal names this server, but
	// a name still must be given with --host.
	g := newFixture(t, func(o *Options) { o.Listen = netip.MustParseAddrPort("0.0.0.0:443"); o.TLS = true })
	for host, want := range map[string]bool{"192.0.2.7": true, "[2001:db8::1]:443": true, "evil.example": false} {
		if got := g.s.hostAllowed(host); got != want {
			t.Errorf("listening everywhere, Host %q allowed: %v, want %v", host, got, want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, nil)
	f.login()
	bad := f.req("GET", "/", nil)
	bad.Host = "evil.example"
	for name, w := range map[string]*http.Response{
		"page":      f.do(f.req("GET", "/", nil)).Result(),
		"login":     f.do(f.req("GET", "/login", nil)).Result(),
		"api":       f.do(f.req("GET", "/api/tunnels", nil)).Result(),
		"not found": f.do(f.req("GET", "/nothing", nil)).Result(),
		"bad host":  f.do(bad).Result(),
		"asset":     f.do(f.req("GET", "/assets/style.css", nil)).Result(),
	} {
		h := w.Header
		if got := h.Get("Content-Security-Policy"); got != contentSecurityPolicy {
			t.Errorf("%s: CSP %q", name, got)
		}
		for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s %q, want %q", name, k, h.Get(k), v)
			}
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS over plain HTTP", name)
		}
	}
	// The policy itself: nothing inline, nothing from elsewhere.
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*", "data:"} {
		if strings.Contains(contentSecurityPolicy, bad) {
			t.Errorf("CSP allows %q", bad)
		}
	}
	g := newFixture(t, func(o *Options) { o.TLS = true })
	if w := g.do(g.req("GET", "/login", nil)); !strings.HasPrefix(w.Header().Get("Strict-Transport-Security"), "max-age=") {
		t.Error("no HSTS under TLS")
	}
}

// Pages and assets hold no inline script, style or event handler, which
// the policy would block (and which would be a way in for injected text).
func TestNoInlineScriptOrStyle(t *testing.T) {
	f := newFixture(t, nil)
	f.login()
	conf, _ := tunnelConfig(t, "alice")
	f.m.Import("wg0", []byte(conf))
	f.m.Activate(t.Context(), "wg0")
	f.m.Accounts().CreateToken("ci")
	scriptTag := regexp.MustCompile(`(?i)<script\b[^>]*>([^<]*)`)
	inlineAttr := regexp.MustCompile(`(?i)\sstyle\s*=|\son[a-z]+\s*=|<style|javascript:`)
	inline := func(body string) string {
		for _, m := range scriptTag.FindAllStringSubmatch(body, -1) {
			if !strings.Contains(m[0], ` src="/assets/`) || strings.TrimSpace(m[1]) != "" {
				return m[0]
			}
		}
		return inlineAttr.FindString(body)
	}
	for _, p := range []string{"/", "/import", "/tunnels/wg0", "/tunnels/wg0/edit", "/tunnels/wg0/log", "/log", "/settings", "/login", "/setup?token=x"} {
		r := f.req("GET", p, nil)
		if strings.HasPrefix(p, "/login") || strings.HasPrefix(p, "/setup") {
			r.Header.Del("Cookie")
		}
		w := f.do(r)
		if w.Code != http.StatusOK && w.Code != http.StatusForbidden {
			t.Errorf("GET %s: %d", p, w.Code)
		}
		if m := inline(w.Body.String()); m != "" {
			t.Errorf("GET %s has inline script or style: %q", p, m)
		}
	}
}

// Names are attacker-controlled; html/template shows them as text.
func TestNamesShownAsText(t *testing.T) {
	f := newFixture(t, nil)
	f.login()
	evil := `<script>alert(1)</script>`
	conf, _ := tunnelConfig(t, evil)
	conf += "# </textarea><script>alert(2)</script>\n"
	if _, err := f.m.Import("wg0", []byte(conf)); err != nil {
		t.Fatal(err)
	}
	f.m.Activate(t.Context(), "wg0")
	// An interface nobody configured may have any name UAPI allows.
	f.sys.AddDevice(`<b>x"'&`, &wgtypesDevice{})
	for _, p := range []string{"/", "/tunnels/wg0", "/tunnels/wg0/edit"} {
		body := f.do(f.req("GET", p, nil)).Body.String()
		for _, raw := range []string{"<script>alert", "</textarea><script>", `<b>x"`} {
			if strings.Contains(body, raw) {
				t.Errorf("GET %s contains %q unescaped", p, raw)
			}
		}
	}
	body := f.do(f.req("GET", "/tunnels/wg0", nil)).Body.String()
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the peer's name is not shown as text:\n%s", body)
	}
	if list := f.do(f.req("GET", "/", nil)).Body.String(); !strings.Contains(list, "&lt;b&gt;x&#34;&#39;&amp;") {
		t.Errorf("the interface's name is not shown as text:\n%s", list)
	}
	// The API carries the name as a JSON string; its HTML characters are
	// escaped too, should anything ever render it as HTML.
	w := f.call("GET", "/api/tunnels/wg0", nil, nil)
	if strings.Contains(w.Body.String(), "<script>") || !strings.Contains(w.Body.String(), `\u003cscript\u003e`) {
		t.Errorf("API body %s", w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("API content type %q", ct)
	}
}

// Anything that holds a secret is never cached.
func TestSecretsNotCached(t *testing.T) {
	f := newFixture(t, nil)
	secret, _ := f.m.Accounts().NewSetupSecret()
	if w := f.do(f.req("GET", "/setup?token="+secret, nil)); w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("setup page: Cache-Control %q", w.Header().Get("Cache-Control"))
	}
	f.login()
	conf, _ := tunnelConfig(t, "")
	f.m.Import("wg0", []byte(conf))
	var tok tokenJSON
	responses := map[string]*http.Response{
		"config":      f.call("GET", "/api/tunnels/wg0/config", nil, nil).Result(),
		"edit page":   f.do(f.req("GET", "/tunnels/wg0/edit", nil)).Result(),
		"new token":   f.call("POST", "/api/tokens", map[string]string{"name": "ci"}, &tok).Result(),
		"tunnel page": f.do(f.req("GET", "/tunnels/wg0", nil)).Result(),
	}
	for name, r := range responses {
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", name, r.Header.Get("Cache-Control"))
		}
	}
	body, _ := ioReadAll(responses["config"].Body)
	if !bytes.Contains(body, []byte("PrivateKey")) {
		t.Errorf("config answer without the key: %s", body)
	}
	if tok.Token == "" {
		t.Error("no token in the creation answer")
	}
	// Assets are not secret; they revalidate.
	if w := f.do(f.req("GET", "/assets/app.js", nil)); w.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("asset: Cache-Control %q", w.Header().Get("Cache-Control"))
	}
}

// The setup link works once and sets an argon2id hash.
func TestSetupLinkOnce(t *testing.T) {
	f := newFixture(t, nil)
	secret, err := f.m.Accounts().NewSetupSecret()
	if err != nil {
		t.Fatal(err)
	}
	linkFile, err := f.m.WriteSetupLink("http://" + testHost + "/setup?token=" + secret)
	if err != nil {
		t.Fatal(err)
	}
	if w := f.do(f.req("GET", "/login", nil)); !strings.Contains(w.Body.String(), `data-test="needs-setup"`) {
		t.Error("the login page does not say setup is needed")
	}
	if w := f.do(f.req("GET", "/setup?token=wrong", nil)); w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "setup-form") {
		t.Errorf("wrong token: %d", w.Code)
	}
	w := f.do(f.req("GET", "/setup?token="+secret, nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="setup-form"`) {
		t.Fatalf("setup page: %d", w.Code)
	}
	if w := f.call("POST", "/api/setup", map[string]string{"token": "wrong", "password": testPassword}, nil); w.Code != http.StatusForbidden {
		t.Errorf("setup with a wrong token: %d", w.Code)
	}
	if w := f.call("POST", "/api/setup", map[string]string{"token": secret, "password": "short"}, nil); w.Code != http.StatusBadRequest {
		t.Errorf("setup with a short password: %d", w.Code)
	}
	w = f.call("POST", "/api/setup", map[string]string{"token": secret, "password": testPassword}, nil)
	if w.Code != http.StatusNoContent {
		t.Fatalf("setup: %d %s", w.Code, w.Body.String())
	}
	f.cookie = sessionFrom(t, w)
	if w := f.call("GET", "/api/tunnels", nil, nil); w.Code != http.StatusOK {
		t.Errorf("the setup's session does not work: %d", w.Code)
	}
	if _, err := os.Stat(linkFile); err == nil {
		t.Error("the setup link file is still there")
	}
	f.cookie = ""
	if w := f.call("POST", "/api/setup", map[string]string{"token": secret, "password": "another long password"}, nil); w.Code != http.StatusForbidden {
		t.Errorf("second use of the link: %d, want 403", w.Code)
	}
	if w := f.do(f.req("GET", "/setup?token="+secret, nil)); w.Code != http.StatusForbidden {
		t.Errorf("setup page after use: %d", w.Code)
	}
	h := f.m.Accounts().AdminHash()
	if h.Algorithm != "argon2id" {
		t.Fatalf("hash algorithm %q", h.Algorithm)
	}
	if got := argon2.IDKey([]byte(testPassword), h.Salt, h.Params.Time, h.Params.Memory, h.Params.Threads, h.Params.KeyLen); !bytes.Equal(got, h.Hash) {
		t.Error("stored hash is not argon2id of the password")
	}
	if w := f.call("POST", "/api/login", map[string]string{"password": testPassword}, nil); w.Code != http.StatusNoContent {
		t.Errorf("login with the new password: %d", w.Code)
	}
}

func TestLoginRateLimit(t *testing.T) {
	f := newFixture(t, nil)
	f.login()
	f.cookie = ""
	login := func(src, pw string) int {
		r := f.req("POST", "/api/login", map[string]string{"password": pw})
		r.RemoteAddr = src + ":1234"
		return f.do(r).Code
	}
	for i := 0; i < loginBurst; i++ {
		if c := login("192.0.2.1", "wrong"); c != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, c)
		}
	}
	r := f.req("POST", "/api/login", map[string]string{"password": testPassword})
	r.RemoteAddr = "192.0.2.1:1234"
	w := f.do(r)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("attempt after the burst, even with the right password: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	// Another source is not held up by the first.
	if c := login("192.0.2.2", "wrong"); c != http.StatusUnauthorized {
		t.Errorf("other source: %d", c)
	}
	// An IPv6 source is one /64.
	for i := 0; i < loginBurst; i++ {
		login("2001:db8::"+string(rune('a'+i)), "wrong")
	}
	if c := login("2001:db8::ff", "wrong"); c != http.StatusTooManyRequests {
		t.Errorf("same /64: %d, want 429", c)
	}
	f.clock.add(loginEvery)
	if c := login("192.0.2.1", testPassword); c != http.StatusNoContent {
		t.Errorf("after waiting: %d", c)
	}
	// Everyone together: the global budget.
	g := newFixture(t, nil)
	g.login()
	g.cookie = ""
	g.s.limiter = newLimiter(g.clock.now) // the setup took an attempt
	refused := 0
	for i := 0; i < globalBurst+5; i++ {
		r := g.req("POST", "/api/login", map[string]string{"password": "wrong"})
		r.RemoteAddr = netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String() + ":1"
		if g.do(r).Code == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused != 5 {
		t.Errorf("%d of %d attempts from distinct sources refused, want 5 over the global burst of %d", refused, globalBurst+5, globalBurst)
	}
}
