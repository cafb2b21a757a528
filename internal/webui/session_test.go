package webui

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSessionCookie(t *testing.T) {
	f := newFixture(t, nil)
	secret, _ := f.m.Accounts().NewSetupSecret()
	w := f.call("POST", "/api/setup", map[string]string{"token": secret, "password": testPassword}, nil)
	raw := w.Header().Get("Set-Cookie")
	for _, want := range []string{SessionCookie + "=", "Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(raw, want) {
			t.Errorf("Set-Cookie %q lacks %q", raw, want)
		}
	}
	for _, bad := range []string{"Domain=", "Max-Age", "Expires"} {
		if strings.Contains(raw, bad) {
			t.Errorf("Set-Cookie %q has %q", raw, bad)
		}
	}
	if !strings.HasPrefix(SessionCookie, "__Host-") {
		t.Errorf("cookie name %q without the __Host- prefix", SessionCookie)
	}
	f.cookie = sessionFrom(t, w)
	// Stored hashed: the table does not hold what the browser presents.
	f.s.sessions.mu.Lock()
	_, plain := f.s.sessions.m[[32]byte([]byte(f.cookie + strings.Repeat("x", 32))[:32])]
	_, hashed := f.s.sessions.m[sha256.Sum256([]byte(f.cookie))]
	f.s.sessions.mu.Unlock()
	if plain || !hashed {
		t.Error("the session table is not keyed by the secret's SHA-256")
	}

	// Idle sessions expire on the server, whatever the browser keeps.
	f.clock.add(DefaultSessionIdle - 1)
	if w := f.call("GET", "/api/tunnels", nil, nil); w.Code != http.StatusOK {
		t.Fatalf("session before idle timeout: %d", w.Code)
	}
	f.clock.add(DefaultSessionIdle + 1)
	if w := f.call("GET", "/api/tunnels", nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("idle session: %d, want 401", w.Code)
	}
	// And at their maximum age, however busy.
	w = f.call("POST", "/api/login", map[string]string{"password": testPassword}, nil)
	f.cookie = sessionFrom(t, w)
	for el := DefaultSessionIdle / 2; el < DefaultSessionMax; el += DefaultSessionIdle / 2 {
		f.clock.add(DefaultSessionIdle / 2)
		f.call("GET", "/api/tunnels", nil, nil)
	}
	f.clock.add(DefaultSessionIdle/2 + time.Second)
	if w := f.call("GET", "/api/tunnels", nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("session past its maximum age: %d, want 401", w.Code)
	}

	// Logout ends the session on the server.
	w = f.call("POST", "/api/login", map[string]string{"password": testPassword}, nil)
	f.cookie = sessionFrom(t, w)
	old := f.cookie
	w = f.call("POST", "/api/logout", nil, nil)
	if !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout does not clear the cookie: %q", w.Header().Get("Set-Cookie"))
	}
	f.cookie = old
	if w := f.call("GET", "/api/tunnels", nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("session after logout: %d", w.Code)
	}
}

// Changing the password ends every other session.
func TestPasswordChange(t *testing.T) {
	f := newFixture(t, nil)
	f.login()
	mine := f.cookie
	w := f.call("POST", "/api/login", map[string]string{"password": testPassword}, nil)
	other := sessionFrom(t, w)
	f.cookie = mine
	if w := f.call("POST", "/api/password", map[string]string{"current": "wrong", "new": "another good password"}, nil); w.Code != http.StatusBadRequest {
		t.Errorf("wrong current password: %d", w.Code)
	}
	if w := f.call("POST", "/api/password", map[string]string{"current": testPassword, "new": "another good password"}, nil); w.Code != http.StatusNoContent {
		t.Fatalf("change: %d %s", w.Code, w.Body.String())
	}
	if w := f.call("GET", "/api/tunnels", nil, nil); w.Code != http.StatusOK {
		t.Errorf("own session after the change: %d", w.Code)
	}
	f.cookie = other
	if w := f.call("GET", "/api/tunnels", nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("other session after the change: %d, want 401", w.Code)
	}
}

func TestAPITokens(t *testing.T) {
	f := newFixture(t, nil)
	f.login()
	var tok tokenJSON
	if w := f.call("POST", "/api/tokens", map[string]string{"name": "ci"}, &tok); w.Code != http.StatusCreated || !strings.HasPrefix(tok.Token, "wrn_") {
		t.Fatalf("create: %d %+v", w.Code, tok)
	}
	var list struct{ Tokens []tokenJSON }
	f.call("GET", "/api/tokens", nil, &list)
	if len(list.Tokens) != 1 || list.Tokens[0].Token != "" || list.Tokens[0].ID != tok.ID {
		t.Errorf("list shows %+v", list.Tokens)
	}
	session := f.cookie
	f.cookie = ""
	bearer := func(method, path, secret string) int {
		r := f.req(method, path, nil)
		r.Header.Set("Authorization", "Bearer "+secret)
		return f.do(r).Code
	}
	if c := bearer("GET", "/api/tunnels", tok.Token); c != http.StatusOK {
		t.Errorf("token GET: %d", c)
	}
	// A script with a token sends no Sec-Fetch-Site or Origin: allowed.
	r := f.req("POST", "/api/tunnels", map[string]string{"name": "wg0", "config": "[Interface]\nPrivateKey = x\n"})
	r.Header.Del("Sec-Fetch-Site")
	r.Header.Del("Origin")
	r.Header.Set("Authorization", "Bearer "+tok.Token)
	if w := f.do(r); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("token POST from a script: %d %s", w.Code, w.Body.String())
	}
	for _, p := range []struct{ method, path string }{{"GET", "/api/tokens"}, {"POST", "/api/tokens"}, {"POST", "/api/password"}, {"DELETE", "/api/tokens/" + tok.ID}} {
		if c := bearer(p.method, p.path, tok.Token); c != http.StatusForbidden {
			t.Errorf("token %s %s: %d, want 403 (session only)", p.method, p.path, c)
		}
	}
	for _, bad := range []string{tok.Token + "x", "wrn_x", ""} {
		if c := bearer("GET", "/api/tunnels", bad); c != http.StatusUnauthorized {
			t.Errorf("token %q: %d", bad, c)
		}
	}
	// A bad Authorization header is not rescued by a session cookie.
	f.cookie = session
	if c := bearer("GET", "/api/tunnels", "nope"); c != http.StatusUnauthorized {
		t.Errorf("bad token with a good cookie: %d", c)
	}
	if w := f.call("DELETE", "/api/tokens/"+tok.ID, nil, nil); w.Code != http.StatusNoContent {
		t.Fatalf("revoke: %d", w.Code)
	}
	f.cookie = ""
	if c := bearer("GET", "/api/tunnels", tok.Token); c != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", c)
	}
}
