package webui

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
)

const xssName = "<script>alert(1)</script>"

// serverConfig is a tunnel that listens, with one named peer.
func serverTunnel(t *testing.T) (string, noise.PublicKey) {
	priv, _ := newKey(t)
	_, peer := newKey(t)
	return fmt.Sprintf("[Interface]\nPrivateKey = %s\nListenPort = 51820\nAddress = 10.8.0.1/24, fd00:8::1/64\n\n# Name = bob\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.8.0.2/32\n", priv.Base64(), peer), peer
}

// clientFixture is a logged-in fixture with wg0 (a server) imported and
// running, and its endpoint host set.
func newClientFixture(t *testing.T) *fixture {
	f := newFixture(t, nil)
	f.login()
	cfg, _ := serverTunnel(t)
	if w := f.call("POST", "/api/tunnels", map[string]string{"name": "wg0", "config": cfg}, nil); w.Code != http.StatusCreated {
		t.Fatalf("import: %d %s", w.Code, w.Body)
	}
	if w := f.call("POST", "/api/tunnels/wg0/activate", nil, nil); w.Code != http.StatusOK {
		t.Fatalf("activate: %d %s", w.Code, w.Body)
	}
	settings := clientSettingsJSON{EndpointHost: "vpn.example.com", DNS: []string{"10.8.0.1"}, AllowedIPs: []string{"0.0.0.0/0", "::/0"}, PersistentKeepalive: 25}
	if w := f.call("PUT", "/api/tunnels/wg0/client-settings", settings, nil); w.Code != http.StatusOK {
		t.Fatalf("settings: %d %s", w.Code, w.Body)
	}
	return f
}

func (f *fixture) addClient(name string, expires int64) addedClientJSON {
	f.t.Helper()
	var got addedClientJSON
	w := f.call("POST", "/api/tunnels/wg0/clients", map[string]any{"name": name, "expires": expires}, &got)
	if w.Code != http.StatusCreated {
		f.t.Fatalf("add client: %d %s", w.Code, w.Body)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		f.t.Errorf("add client answer (it holds the private key): Cache-Control %q", cc)
	}
	return got
}

// get fetches path with no session at all.
func (f *fixture) getAnon(path string) *http.Response {
	req := f.req("GET", path, nil)
	req.Header.Del("Cookie")
	return f.do(req).Result()
}

func TestClientAPI(t *testing.T) {
	f := newClientFixture(t)
	added := f.addClient("alice", 0)
	cc, err := conf.Parse("alice.conf", []byte(added.Config), conf.Options{Quick: true})
	if err != nil {
		t.Fatalf("the configuration offered does not parse: %v\n%s", err, added.Config)
	}
	if cc.Interface.PrivateKey.PublicKey().String() != added.Client.PublicKey || cc.Peers[0].Endpoint != "vpn.example.com:51820" {
		t.Errorf("configuration: %+v", cc)
	}
	if added.FileName != "alice.conf" || added.Client.Name != "alice" || strings.Join(added.Client.Addresses, " ") != "10.8.0.3/32 fd00:8::2/128" ||
		!strings.HasPrefix(added.ConfigLink, "/api/once/") || !strings.HasSuffix(added.QRLink, ".png") {
		t.Errorf("answer: %+v", added)
	}

	var list struct {
		Settings clientSettingsJSON `json:"settings"`
		Clients  []clientJSON       `json:"clients"`
	}
	f.call("GET", "/api/tunnels/wg0/clients", nil, &list)
	if len(list.Clients) != 1 || list.Clients[0].Name != "alice" || !list.Clients[0].Running || list.Settings.EndpointHost != "vpn.example.com" {
		t.Fatalf("list: %+v", list)
	}
	if strings.Contains(f.call("GET", "/api/tunnels/wg0/clients", nil, nil).Body.String(), cc.Interface.PrivateKey.Base64()) {
		t.Error("the list shows the private key")
	}
	id := list.Clients[0].ID

	var c clientJSON
	// The standard base64 key, URL-escaped, names the client too.
	if w := f.call("POST", "/api/tunnels/wg0/clients/"+url.PathEscape(added.Client.PublicKey)+"/disable", nil, &c); w.Code != http.StatusOK || !c.Disabled || c.DisabledReason != "disabled" {
		t.Errorf("disable: %d %+v", w.Code, c)
	}
	exp := f.clock.now().Add(24 * time.Hour).Unix()
	if w := f.call("POST", "/api/tunnels/wg0/clients/"+id+"/enable", map[string]int64{"expires": exp}, &c); w.Code != http.StatusOK || c.Disabled || c.Expires != exp {
		t.Errorf("enable: %d %+v", w.Code, c)
	}
	if w := f.call("POST", "/api/tunnels/wg0/clients/"+id+"/enable", map[string]int64{"expires": 1}, nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "bad-expiry") {
		t.Errorf("enable with a past expiry: %d %s", w.Code, w.Body)
	}
	if w := f.call("DELETE", "/api/tunnels/wg0/clients/"+id, nil, nil); w.Code != http.StatusNoContent {
		t.Errorf("delete: %d %s", w.Code, w.Body)
	}
	if w := f.call("DELETE", "/api/tunnels/wg0/clients/"+id, nil, nil); w.Code != http.StatusNotFound {
		t.Errorf("delete twice: %d %s", w.Code, w.Body)
	}
	data, _ := f.store.Read("wg0")
	if strings.Contains(string(data), added.Client.PublicKey) {
		t.Error("deleted client still in the file")
	}
}

func TestClientAPIErrors(t *testing.T) {
	f := newClientFixture(t)
	for _, c := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"POST", "/api/tunnels/wg0/clients", map[string]any{"name": "a\nb"}, 400, "bad-client-name"},
		{"POST", "/api/tunnels/wg0/clients", map[string]any{"name": ""}, 400, "bad-client-name"},
		{"POST", "/api/tunnels/wg0/clients", map[string]any{"name": "bob"}, 400, "bad-client-name"},
		{"POST", "/api/tunnels/wg0/clients", map[string]any{"name": "x", "expires": 1000}, 400, "bad-expiry"},
		{"POST", "/api/tunnels/wg0/clients", map[string]any{"name": "x", "extra": 1}, 400, "bad-request"},
		{"POST", "/api/tunnels/nope/clients", map[string]any{"name": "x"}, 404, "not-found"},
		{"PUT", "/api/tunnels/wg0/client-settings", map[string]any{"endpointHost": "a b", "allowedIPs": []string{"0.0.0.0/0"}}, 400, "bad-settings"},
		{"PUT", "/api/tunnels/wg0/client-settings", map[string]any{"endpointHost": "h", "allowedIPs": []string{"10.0.0.0/33"}}, 400, "bad-settings"},
		{"PUT", "/api/tunnels/wg0/client-settings", map[string]any{"endpointHost": "h", "dns": []string{"x"}, "allowedIPs": []string{"::/0"}}, 400, "bad-settings"},
		{"POST", "/api/tunnels/wg0/clients/notakey/disable", nil, 400, "bad-request"},
		{"POST", "/api/tunnels/wg0/clients/" + clientID(noise.PublicKey{1}) + "/disable", nil, 404, "not-found"},
	} {
		w := f.call(c.method, c.path, c.body, nil)
		if w.Code != c.status || !strings.Contains(w.Body.String(), `"code":"`+c.code) {
			t.Errorf("%s %s %v: %d %s, want %d %s", c.method, c.path, c.body, w.Code, w.Body, c.status, c.code)
		}
	}
	// No endpoint host: 409 no-endpoint.
	f.call("PUT", "/api/tunnels/wg0/client-settings", map[string]any{"allowedIPs": []string{"::/0"}}, nil)
	if w := f.call("POST", "/api/tunnels/wg0/clients", map[string]any{"name": "x"}, nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "no-endpoint") {
		t.Errorf("no endpoint: %d %s", w.Code, w.Body)
	}
	// A full subnet: 409 subnet-full.
	priv, _ := newKey(t)
	full := fmt.Sprintf("[Interface]\nPrivateKey = %s\nListenPort = 1\nAddress = 10.9.0.1/31\n", priv.Base64())
	f.call("POST", "/api/tunnels", map[string]string{"name": "wg1", "config": full}, nil)
	f.call("PUT", "/api/tunnels/wg1/client-settings", map[string]any{"endpointHost": "h", "allowedIPs": []string{"::/0"}}, nil)
	f.addClientTo("wg1", "one")
	if w := f.call("POST", "/api/tunnels/wg1/clients", map[string]any{"name": "two"}, nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "subnet-full") || !strings.Contains(w.Body.String(), "10.9.0.0/31") {
		t.Errorf("full subnet: %d %s", w.Code, w.Body)
	}
}

func (f *fixture) addClientTo(tunnel, name string) {
	f.t.Helper()
	if w := f.call("POST", "/api/tunnels/"+tunnel+"/clients", map[string]any{"name": name}, nil); w.Code != http.StatusCreated {
		f.t.Fatalf("add %s to %s: %d %s", name, tunnel, w.Code, w.Body)
	}
}

// Every client endpoint wants a session or token (except a one-time
// link, which is its own credential); changes from another origin are
// refused.
func TestClientAPINeedsSession(t *testing.T) {
	f := newClientFixture(t)
	cookie := f.cookie
	f.cookie = ""
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/tunnels/wg0/clients"}, {"POST", "/api/tunnels/wg0/clients"}, {"PUT", "/api/tunnels/wg0/client-settings"},
		{"POST", "/api/tunnels/wg0/clients/x/disable"}, {"POST", "/api/tunnels/wg0/clients/x/enable"}, {"DELETE", "/api/tunnels/wg0/clients/x"},
	} {
		if w := f.do(f.req(c.method, c.path, nil)); w.Code != http.StatusUnauthorized {
			t.Errorf("%s %s without a session: %d", c.method, c.path, w.Code)
		}
	}
	if w := f.do(f.req("GET", "/tunnels/wg0/clients", nil)); w.Code != http.StatusSeeOther {
		t.Errorf("clients page without a session: %d", w.Code)
	}
	f.cookie = cookie
	req := f.req("POST", "/api/tunnels/wg0/clients", map[string]string{"name": "x"})
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	if w := f.do(req); w.Code != http.StatusForbidden {
		t.Errorf("cross-origin add: %d", w.Code)
	}
	if cs, _ := f.m.Clients("wg0"); len(cs) != 0 {
		t.Errorf("a refused request added a client: %+v", cs)
	}
}

// A one-time link gives the configuration once, without a session, never
// cached; used, expired, of another kind or made up, it gives nothing.
func TestOneTimeLink(t *testing.T) {
	f := newClientFixture(t)
	added := f.addClient("alice", 0)
	token := strings.TrimPrefix(added.ConfigLink, "/api/once/")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 16 {
		t.Fatalf("token %q holds %d bytes (%v), want at least 128 bits", token, len(raw), err)
	}
	// A config token asked for as a QR code is not found, and not used up.
	if r := f.getAnon(added.ConfigLink + ".png"); r.StatusCode != http.StatusNotFound {
		t.Errorf("config token as QR: %d", r.StatusCode)
	}
	r := f.getAnon(added.ConfigLink)
	body := readAll(r)
	if r.StatusCode != http.StatusOK || body != added.Config {
		t.Fatalf("one-time link: %d %q", r.StatusCode, body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("one-time link: Cache-Control %q", cc)
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename=alice.conf` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if r := f.getAnon(added.ConfigLink); r.StatusCode != http.StatusNotFound {
		t.Errorf("second use: %d", r.StatusCode)
	}
	// The QR link, once.
	r = f.getAnon(added.QRLink)
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("QR link: %d %v", r.StatusCode, r.Header)
	}
	if _, err := png.Decode(r.Body); err != nil {
		t.Errorf("QR link: not a PNG: %v", err)
	}
	if r := f.getAnon(added.QRLink); r.StatusCode != http.StatusNotFound {
		t.Errorf("QR second use: %d", r.StatusCode)
	}

	// 15 minutes: just before, it works; at 15 it does not.
	second := f.addClient("carol", 0)
	third := f.addClient("dave", 0)
	f.clock.add(oneTimeTTL - time.Second)
	if r := f.getAnon(second.ConfigLink); r.StatusCode != http.StatusOK {
		t.Errorf("link at 14:59: %d", r.StatusCode)
	}
	f.clock.add(time.Second)
	if r := f.getAnon(third.ConfigLink); r.StatusCode != http.StatusNotFound {
		t.Errorf("link at 15:00: %d", r.StatusCode)
	}
	if r := f.getAnon(third.QRLink); r.StatusCode != http.StatusNotFound {
		t.Errorf("QR link at 15:00: %d", r.StatusCode)
	}
	// Made up, or a real one changed by a character: nothing.
	fourth := f.addClient("erin", 0)
	tok := []byte(strings.TrimPrefix(fourth.ConfigLink, "/api/once/"))
	tok[5] ^= 1
	for _, p := range []string{"/api/once/" + string(tok), "/api/once/" + strings.Repeat("A", 43), "/api/once/x", "/api/once/" + strings.TrimPrefix(fourth.ConfigLink, "/api/once/") + "A"} {
		if r := f.getAnon(p); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", p, r.StatusCode)
		}
	}
	// Deleting the client drops its links.
	f.call("DELETE", "/api/tunnels/wg0/clients/"+fourth.Client.ID, nil, nil)
	if r := f.getAnon(fourth.ConfigLink); r.StatusCode != http.StatusNotFound {
		t.Errorf("link of a deleted client: %d", r.StatusCode)
	}
}

func readAll(r *http.Response) string {
	var b bytes.Buffer
	b.ReadFrom(r.Body)
	return b.String()
}

// Pages and answers with secrets are never cached; the clients page shows
// a client's name as text.
func TestClientsPage(t *testing.T) {
	f := newClientFixture(t)
	added := f.addClient(xssName, time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC).Unix())
	for _, p := range []string{"/tunnels/wg0/clients", "/tunnels/wg0"} {
		w := f.call("GET", p, nil, nil)
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", p, w.Code, body)
		}
		if strings.Contains(body, xssName) || !strings.Contains(body, html.EscapeString(xssName)) {
			t.Errorf("%s: the name is not escaped", p)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", p, w.Header().Get("Cache-Control"))
		}
	}
	body := f.call("GET", "/tunnels/wg0/clients", nil, nil).Body.String()
	for _, want := range []string{`data-test="client-row" data-client="` + added.Client.ID + `"`, `data-test="client-add-form"`, `data-test="client-settings-form"`,
		`data-test="client-qr"`, `data-test="client-config"`, `data-test="client-download"`, `data-test="client-link"`, "2027-01-02 00:00 UTC",
		`value="vpn.example.com"`, `src="/assets/clients.js"`} {
		if !strings.Contains(body, want) {
			t.Errorf("clients page lacks %s", want)
		}
	}
	if strings.Contains(body, added.Config) || strings.Contains(body, "PrivateKey") {
		t.Error("the clients page shows a configuration")
	}
	if !strings.Contains(f.call("GET", "/tunnels/wg0", nil, nil).Body.String(), `href="/tunnels/wg0/clients"`) {
		t.Error("the tunnel page has no link to its clients")
	}
	// The JSON escapes it too (no raw '<' a sniffing browser could run).
	w := f.call("GET", "/api/tunnels/wg0/clients", nil, nil)
	if strings.Contains(w.Body.String(), "<script>") {
		t.Error("JSON carries a raw <script>")
	}
	// The assets are served.
	for _, a := range []string{"/assets/clients.js", "/assets/clients.css"} {
		if w := f.call("GET", a, nil, nil); w.Code != http.StatusOK {
			t.Errorf("%s: %d", a, w.Code)
		}
	}
}

// The QR code, read back by zbar from the PNG served, is exactly the
// configuration offered as text.
func TestClientQRDecodes(t *testing.T) {
	if runtime.GOOS == "windows" {
		// The Windows build runs under wine in CI, where Debian's zbarimg
		// is not a Windows program; the PNG is the same on every platform
		// and the Linux run decodes it.
		t.Skip("zbarimg is a Debian tool; the Linux run decodes the QR code")
	}
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true and zbarimg is missing (apt-get install zbar-tools)")
		}
		t.Skip("needs zbarimg (apt-get install zbar-tools)")
	}
	f := newClientFixture(t)
	// The longest settings make the densest code.
	f.call("PUT", "/api/tunnels/wg0/client-settings", clientSettingsJSON{EndpointHost: strings.Repeat("long-label.", 20) + "example",
		DNS: []string{"2001:db8::53", "2001:db8::54", "10.8.0.1"}, AllowedIPs: []string{"0.0.0.0/0", "::/0", "2001:db8:1234:5678::/64"}, PersistentKeepalive: 25}, nil)
	added := f.addClient("alice", 0)
	r := f.getAnon(added.QRLink)
	img := readAll(r)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("QR: %d", r.StatusCode)
	}
	file := filepath.Join(t.TempDir(), "qr.png")
	os.WriteFile(file, []byte(img), 0o600)
	out, err := exec.Command(zbar, "--raw", "-q", "-Sbinary", file).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if string(out) != added.Config {
		t.Errorf("zbarimg read\n%q\nthe configuration offered is\n%q", out, added.Config)
	}
	p, _ := png.Decode(strings.NewReader(img))
	if b := p.Bounds(); b.Dx() < 300 || b.Dx() > 1000 {
		t.Errorf("QR image %dx%d pixels: too small or too large for a phone to scan from a screen", b.Dx(), b.Dy())
	}
}
