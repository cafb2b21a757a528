package webui

import (
	"bufio"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/noise"
)

// routePatterns reads every pattern this package registers on its mux
// (mux.Handle and mux.HandleFunc with a string literal) from its source, so
// that a route added later is covered by the role tests without anyone
// listing it.
func routePatterns(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); !ok || id.Name != "mux" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a route registered with a pattern that is not a literal", fset.Position(call.Pos()))
				return true
			}
			p, _ := strconv.Unquote(lit.Value)
			out = append(out, p)
			return true
		})
	}
	if len(out) < 20 {
		t.Fatalf("found only %d routes: %q", len(out), out)
	}
	return out
}

// Routes anyone may reach (they check their own secret, or none).
var publicRoutes = []string{
	"GET /login", "GET /setup", "GET /assets/{file}",
	"POST /api/setup", "POST /api/login", "POST /api/logout",
	"GET /api/once/{token}",
}

// Routes an operator may use: seeing the tunnels (redacted), activating
// and deactivating them, their logs, traffic and live statistics.
var operatorRoutes = []string{
	"GET /{$}", "GET /tunnels/{name}", "GET /tunnels/{name}/log",
	"GET /api/tunnels", "GET /api/tunnels/{name}",
	"POST /api/tunnels/{name}/activate", "POST /api/tunnels/{name}/deactivate",
	"GET /api/tunnels/{name}/log", "GET /api/tunnels/{name}/history", "GET /api/events",
}

// Routes the administrator's session alone may use (not an API token).
var sessionRoutes = []string{
	"POST /api/password", "GET /api/tokens", "POST /api/tokens", "DELETE /api/tokens/{id}",
	"GET /api/operators", "POST /api/operators", "PUT /api/operators/{name}/password", "DELETE /api/operators/{name}",
}

var wildcard = regexp.MustCompile(`\{[a-z]+\}`)

// concrete makes a request path of a pattern.
func concrete(pattern, key string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.TrimSuffix(path, "{$}")
	path = wildcard.ReplaceAllStringFunc(path, func(w string) string {
		switch w {
		case "{name}":
			return "wg0"
		case "{key}":
			return url.PathEscape(key)
		case "{file}":
			return "app.js"
		}
		return "x"
	})
	return method, path
}

const operatorName = `OFFICE\oper`
const operatorPassword = "operator password 1"

// operatorFixture is a logged-in administrator (f.cookie) with a running
// tunnel wg0 and an operator account, logged in too (the returned
// session).
func operatorFixture(t *testing.T) (f *fixture, operator string, conf string, peer noise.PublicKey) {
	t.Helper()
	f = newFixture(t, nil)
	f.login()
	conf, peer = tunnelConfig(t, "alice")
	if _, err := f.m.Import("wg0", []byte(conf)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Activate(t.Context(), "wg0"); err != nil {
		t.Fatal(err)
	}
	if w := f.call("POST", "/api/operators", map[string]string{"name": operatorName, "password": operatorPassword}, nil); w.Code != http.StatusCreated {
		t.Fatalf("create operator: %d %s", w.Code, w.Body.String())
	}
	admin := f.cookie
	f.cookie = ""
	w := f.call("POST", "/api/login", map[string]string{"user": `office\OPER`, "password": operatorPassword}, nil)
	if w.Code != http.StatusNoContent {
		t.Fatalf("operator login: %d %s", w.Code, w.Body.String())
	}
	operator = sessionFrom(t, w)
	f.cookie = admin
	return f, operator, conf, peer
}

// as makes a same-origin request with the session cookie secret (none if
// "").
func (f *fixture) as(secret, method, path string, body any) *httptest.ResponseRecorder {
	saved := f.cookie
	f.cookie = secret
	defer func() { f.cookie = saved }()
	return f.do(f.req(method, path, body))
}

// secretsIn names the keys (private, public, preshared) of conf found in
// body.
func secretsIn(t *testing.T, body, conf string, keys ...string) []string {
	var found []string
	for _, line := range strings.Split(conf, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.Contains(strings.ToLower(k), "key") {
			keys = append(keys, strings.TrimSpace(v))
		}
	}
	for _, k := range keys {
		if k == "" {
			continue
		}
		for _, form := range []string{k, url.PathEscape(k), strings.NewReplacer("+", "-", "/", "_").Replace(strings.TrimRight(k, "="))} {
			if strings.Contains(body, form) {
				found = append(found, k)
				break
			}
		}
	}
	return found
}

// Every route, as an operator: the administrator's answer 403 and touch
// nothing; an operator's work and show no key. Without credentials every
// route but the public ones is refused; an API token (the
// administrator's) reaches everything but the session-only routes.
func TestRolesOverEveryRoute(t *testing.T) {
	f, operator, conf, peer := operatorFixture(t)
	tunnelPub := mustTunnelPub(t, f)
	secret, _, err := f.m.Accounts().CreateToken("ci")
	if err != nil {
		t.Fatal(err)
	}
	routes := routePatterns(t)
	for _, want := range slices.Concat(publicRoutes, operatorRoutes, sessionRoutes) {
		if !slices.Contains(routes, want) {
			t.Errorf("route %q is not registered (the tables here are stale)", want)
		}
	}
	// Streams are read separately (TestOperatorStreams).
	streams := []string{"GET /api/events", "GET /api/tunnels/{name}/log", "GET /api/log"}
	for _, pattern := range routes {
		if slices.Contains(publicRoutes, pattern) {
			continue
		}
		method, path := concrete(pattern, peer.String())
		page := !strings.HasPrefix(path, "/api/")
		t.Run(pattern, func(t *testing.T) {
			calls := len(f.sys.CallLog())
			// No credentials.
			w := f.as("", method, path, map[string]string{})
			if page && (w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login") {
				t.Errorf("without a session: %d, want 303 to /login", w.Code)
			}
			if !page && w.Code != http.StatusUnauthorized {
				t.Errorf("without credentials: %d, want 401", w.Code)
			}
			switch {
			case slices.Contains(operatorRoutes, pattern):
				if slices.Contains(streams, pattern) {
					return
				}
				w := f.as(operator, method, path, map[string]string{})
				if w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden || w.Code >= 500 {
					t.Errorf("operator: %d %s", w.Code, w.Body.String())
				}
				if found := secretsIn(t, w.Body.String(), conf, tunnelPub, peer.String()); len(found) > 0 {
					t.Errorf("operator sees keys %q in %s", found, w.Body.String())
				}
				if strings.Contains(w.Body.String(), "PrivateKey") || strings.Contains(w.Body.String(), "[Interface]") {
					t.Errorf("operator sees configuration text: %s", w.Body.String())
				}
			default:
				w := f.as(operator, method, path, map[string]string{})
				if w.Code != http.StatusForbidden {
					t.Errorf("operator: %d, want 403: %s", w.Code, w.Body.String())
				}
				if !page && !strings.Contains(w.Body.String(), `"code":"admin-only"`) {
					t.Errorf("operator's refusal: %s", w.Body.String())
				}
				if found := secretsIn(t, w.Body.String(), conf, tunnelPub, peer.String()); len(found) > 0 {
					t.Errorf("refusal shows keys %q", found)
				}
				if got := f.sys.CallLog(); len(got) != calls {
					t.Errorf("an operator's refused request touched the system: %q", got[calls:])
				}
			}
		})
	}
	// After all that, wg0 is still there: no operator's attempt removed it.
	if tun, err := f.m.Tunnel("wg0"); err != nil || !tun.HasConfig {
		t.Fatalf("wg0 after the operator's attempts: %+v, %v", tun, err)
	}
	// The administrator's API token (which may delete wg0: last).
	for _, pattern := range routes {
		if slices.Contains(publicRoutes, pattern) {
			continue
		}
		method, path := concrete(pattern, peer.String())
		if !strings.HasPrefix(path, "/api/") {
			continue
		}
		t.Run("token "+pattern, func(t *testing.T) {
			req := f.req(method, path, map[string]string{})
			req.Header.Del("Cookie")
			req.Header.Set("Authorization", "Bearer "+secret)
			if slices.Contains(streams, pattern) {
				return
			}
			w := f.do(req)
			switch {
			case slices.Contains(sessionRoutes, pattern):
				if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "session-only") {
					t.Errorf("API token on a session-only route: %d %s", w.Code, w.Body.String())
				}
			case w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden:
				t.Errorf("API token: %d %s", w.Code, w.Body.String())
			}
		})
	}
}

func mustTunnelPub(t *testing.T, f *fixture) string {
	t.Helper()
	tun, err := f.m.Tunnel("wg0")
	if err != nil || tun.PublicKey.IsZero() {
		t.Fatalf("wg0: %+v, %v", tun, err)
	}
	return tun.PublicKey.String()
}

// An operator activates and deactivates; the list and the tunnel show
// peers by opaque IDs (stable, different per peer), their names, traffic
// and handshakes, never a key.
func TestOperatorView(t *testing.T) {
	f, operator, conf, peer := operatorFixture(t)
	tunnelPub := mustTunnelPub(t, f)
	if w := f.as(operator, "POST", "/api/tunnels/wg0/deactivate", nil); w.Code != http.StatusOK {
		t.Fatalf("operator deactivates: %d %s", w.Code, w.Body.String())
	}
	if tun, _ := f.m.Tunnel("wg0"); tun.Running {
		t.Error("still running")
	}
	if w := f.as(operator, "POST", "/api/tunnels/wg0/activate", nil); w.Code != http.StatusOK {
		t.Fatalf("operator activates: %d %s", w.Code, w.Body.String())
	}
	f.sys.SetStats("wg0", peer, 1234, 5678, time.Unix(1700000000, 0))
	var got tunnelJSON
	if w := f.callAs(operator, "GET", "/api/tunnels/wg0", &got); w.Code != http.StatusOK {
		t.Fatalf("operator GET tunnel: %d", w.Code)
	}
	if !got.Running || got.PublicKey != "" || len(got.Peers) != 1 {
		t.Fatalf("operator's tunnel: %+v", got)
	}
	p := got.Peers[0]
	if p.PublicKey != "" || p.ID == "" || p.ID == peer.String() || p.Name != "alice" || p.RxBytes != 1234 || p.LatestHandshake != 1700000000 {
		t.Errorf("operator's peer: %+v", p)
	}
	var again tunnelJSON
	f.callAs(operator, "GET", "/api/tunnels/wg0", &again)
	if again.Peers[0].ID != p.ID {
		t.Error("a peer's ID changes between requests")
	}
	// The administrator sees keys, the ID being the public key.
	var admin tunnelJSON
	f.call("GET", "/api/tunnels/wg0", nil, &admin)
	if admin.PublicKey != tunnelPub || admin.Peers[0].PublicKey != peer.String() || admin.Peers[0].ID != peer.String() {
		t.Errorf("administrator's tunnel: %+v", admin)
	}
	// The pages: the peer's row by its ID, no key, no administrator's
	// buttons.
	w := f.as(operator, "GET", "/tunnels/wg0", nil)
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, `data-peer="`+p.ID+`"`) || !strings.Contains(body, "alice") {
		t.Fatalf("operator's tunnel page: %d", w.Code)
	}
	for _, hidden := range []string{`data-test="edit"`, `data-test="delete"`, `data-test="clients-link"`, `data-test="peer-name-form"`, `data-test="peer-key"`,
		`data-test="nav-import"`, `data-test="nav-settings"`, `data-test="nav-log"`} {
		if strings.Contains(body, hidden) {
			t.Errorf("operator's tunnel page has %s", hidden)
		}
	}
	if !strings.Contains(body, `data-test="deactivate"`) || !strings.Contains(body, `data-test="operator"`) {
		t.Error("operator's tunnel page lacks the deactivate button or the operator's badge")
	}
	if found := secretsIn(t, body, conf, tunnelPub, peer.String()); len(found) > 0 {
		t.Errorf("operator's page shows %q", found)
	}
	w = f.as(operator, "GET", "/", nil)
	if found := secretsIn(t, w.Body.String(), conf, tunnelPub, peer.String()); w.Code != http.StatusOK || len(found) > 0 {
		t.Errorf("operator's list: %d, keys %q", w.Code, found)
	}
	// History: the tunnel's, not a peer's by key.
	if w := f.as(operator, "GET", "/api/tunnels/wg0/history?peer="+url.QueryEscape(peer.String()), nil); w.Code != http.StatusForbidden {
		t.Errorf("operator asks a peer's history by key: %d", w.Code)
	}
}

func (f *fixture) callAs(secret, method, path string, out any) *httptest.ResponseRecorder {
	saved := f.cookie
	f.cookie = secret
	defer func() { f.cookie = saved }()
	return f.call(method, path, nil, out)
}

// The streams an operator may follow carry no key.
func TestOperatorStreams(t *testing.T) {
	f, operator, conf, peer := operatorFixture(t)
	tunnelPub := mustTunnelPub(t, f)
	f.sys.Log("wg0", "peer "+peer.String()[:8]+"… handshake")
	srv := httptest.NewServer(f.s.Handler())
	defer srv.Close()
	first := func(path string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		req.Host = testHost
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: operator})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		lines := bufio.NewScanner(resp.Body)
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				return data
			}
		}
		t.Fatalf("%s ended: %v", path, lines.Err())
		return ""
	}
	f.m.Sampler().SampleNow()
	stats := first("/api/events")
	if !strings.Contains(stats, `"wg0"`) || !strings.Contains(stats, `"id":"peer-`) {
		t.Errorf("operator's stats: %s", stats)
	}
	if found := secretsIn(t, stats, conf, tunnelPub, peer.String()); len(found) > 0 {
		t.Errorf("operator's stats carry %q: %s", found, stats)
	}
	if line := first("/api/tunnels/wg0/log"); !strings.Contains(line, "handshake") {
		t.Errorf("operator's log: %s", line)
	}
}

// Operators log in with a name; a wrong name and a wrong password get the
// same answer; the administrator manages operators from a session only;
// an operator deleted or given a new password is logged out.
func TestOperatorAccountsAPI(t *testing.T) {
	f, operator, _, _ := operatorFixture(t)
	var list struct {
		Operators []operatorJSON `json:"operators"`
	}
	if w := f.call("GET", "/api/operators", nil, &list); w.Code != http.StatusOK || len(list.Operators) != 1 || list.Operators[0].Name != operatorName {
		t.Errorf("operators: %d %+v", w.Code, list)
	}
	for _, c := range []struct{ user, password string }{{"nobody", operatorPassword}, {operatorName, "wrong password!"}} {
		w := f.as("", "POST", "/api/login", map[string]string{"user": c.user, "password": c.password})
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "wrong user or password") {
			t.Errorf("login %q: %d %s", c.user, w.Code, w.Body.String())
		}
	}
	// The operator's password is not the administrator's.
	if w := f.as("", "POST", "/api/login", map[string]string{"password": operatorPassword}); w.Code != http.StatusUnauthorized {
		t.Errorf("operator's password as the administrator's: %d", w.Code)
	}
	for _, c := range []struct {
		body map[string]string
		code string
	}{
		{map[string]string{"name": "a/b", "password": operatorPassword}, "operator"},
		{map[string]string{"name": operatorName, "password": operatorPassword}, "operator"},
		{map[string]string{"name": "bob", "password": "short"}, "password"},
	} {
		if w := f.call("POST", "/api/operators", c.body, nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"code":"`+c.code+`"`) {
			t.Errorf("create %v: %d %s", c.body, w.Code, w.Body.String())
		}
	}
	path := "/api/operators/" + url.PathEscape(operatorName)
	if w := f.call("PUT", path+"/password", map[string]string{"password": "operator password 2"}, nil); w.Code != http.StatusNoContent {
		t.Fatalf("reset: %d %s", w.Code, w.Body.String())
	}
	if w := f.as(operator, "GET", "/api/tunnels", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("operator's session after a reset: %d, want 401", w.Code)
	}
	w := f.as("", "POST", "/api/login", map[string]string{"user": operatorName, "password": "operator password 2"})
	if w.Code != http.StatusNoContent {
		t.Fatalf("login with the new password: %d", w.Code)
	}
	operator = sessionFrom(t, w)
	if w := f.call("DELETE", path, nil, nil); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body.String())
	}
	if w := f.as(operator, "GET", "/api/tunnels", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("deleted operator's session: %d, want 401", w.Code)
	}
	if w := f.call("DELETE", path, nil, nil); w.Code != http.StatusNotFound {
		t.Errorf("delete twice: %d", w.Code)
	}
	// The administrator's session survives all of it.
	if w := f.call("GET", "/api/tunnels", nil, nil); w.Code != http.StatusOK {
		t.Errorf("administrator: %d", w.Code)
	}
}

// Where the System says who may be an operator (Windows), a login of an
// account that left Network Configuration Operators is refused after its
// password was checked.
func TestOperatorLoginRefusedByGroup(t *testing.T) {
	groups := map[string][]string{"alice": {"S-1-5-32-556"}}
	sys := &groupSystem{System: nil, groups: groups}
	f := newFixtureWith(t, func(o *manager.Options) {
		sys.System = o.System
		o.System = sys
	}, nil)
	f.login()
	if w := f.call("POST", "/api/operators", map[string]string{"name": "bob", "password": operatorPassword}, nil); w.Code != http.StatusBadRequest ||
		!strings.Contains(w.Body.String(), "Network Configuration Operators") {
		t.Errorf("operator outside the group: %d %s", w.Code, w.Body.String())
	}
	if w := f.call("POST", "/api/operators", map[string]string{"name": "alice", "password": operatorPassword}, nil); w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	groups["alice"] = nil
	w := f.as("", "POST", "/api/login", map[string]string{"user": "alice", "password": operatorPassword})
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "Network Configuration Operators") || len(w.Result().Cookies()) != 0 {
		t.Errorf("login after leaving the group: %d %s", w.Code, w.Body.String())
	}
}

// groupSystem is a System that says who may be an operator, as the
// Windows one does.
type groupSystem struct {
	manager.System
	groups map[string][]string
}

func (s *groupSystem) CheckOperator(account string) error {
	return (&manager.ServiceSystem{OperatorGroups: func(a string) ([]string, error) { return s.groups[a], nil }}).CheckOperator(account)
}
