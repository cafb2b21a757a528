package browser

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const password = "a long enough test password"

// xssName is a peer name (and, with the clients UI, a client name) made
// of HTML that runs script if a page inserts it unescaped.
const xssName = `<script>alert("warren-xss")</script><img src=x onerror=alert(1)>`

// scenario is the state the steps of TestBrowser share.
type scenario struct {
	t   *testing.T
	e   *env
	m   *manager
	c   *chrome
	tab *tab
	// onceExchanges are the one-time link's answers, seen by another
	// tab (another browser context).
	onceExchanges []exchange
}

// TestBrowser drives the manager's web UI in Chromium through the whole
// life of a tunnel, checking what a person sees at each step and the
// security properties a browser enforces (or must be stopped from
// abusing). The steps depend on each other: the first failure ends it.
func TestBrowser(t *testing.T) {
	start := time.Now()
	e := newEnv(t)
	m := e.startManager("0")
	c, tab := startChrome(t, e.hub)
	s := &scenario{t: t, e: e, m: m, c: c, tab: tab}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("manager output:\n%s", s.m.out)
			t.Logf("chromium output (last 4 KiB):\n%s", tail(c.out.String(), 4096))
		}
	})
	t.Logf("set up in %v", time.Since(start).Round(time.Millisecond))

	steps := []struct {
		name string
		run  func()
	}{
		{"no session: the login page", s.noSession},
		{"setup link sets the password", s.setup},
		{"log out and in", s.logoutLogin},
		{"import: a bad line, then a good config", s.importConfig},
		{"activate from the list", s.activate},
		{"handshake and live graphs under iperf3", s.liveTraffic},
		{"logs", s.logs},
		{"a peer named with HTML stays text", s.htmlName},
		{"clients: QR code scanned from the screen, brought up, HTML name as text", s.clients},
		{"cross-origin POST refused", s.crossOrigin},
		{"foreign Host refused", s.foreignHost},
		{"restart: history kept", s.restartHistory},
		{"secrets are not cacheable", s.noStore},
		{"no dialog opened", s.noDialogs},
	}
	for _, st := range steps {
		t0 := time.Now()
		st.run()
		t.Logf("%s: ok in %v", st.name, time.Since(t0).Round(time.Millisecond))
	}
	s.m.stop(t)
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// noSession: without a session every page sends the browser to the
// login page (which, before setup, says where the setup link is), and
// the API answers 401.
func (s *scenario) noSession() {
	tb := s.tab
	for _, path := range []string{"/", "/tunnels/" + s.e.tunnel, "/settings", "/log"} {
		tb.nav(s.m.base + path)
		tb.waitPath("/login")
	}
	tb.waitFor("the login page says a setup link is needed", `!!document.querySelector("[data-test=needs-setup]")`, "document.body.innerText", 5*time.Second)
	if st := eval[int](tb, `fetch("/api/tunnels").then(r => r.status)`); st != http.StatusUnauthorized {
		s.t.Fatalf("GET /api/tunnels without a session: %d, want 401", st)
	}
}

// setup opens the link the manager wrote (a root-only file) and sets
// the password; the link then stops working.
func (s *scenario) setup() {
	t, tb := s.t, s.tab
	fi, err := os.Stat(s.m.linkFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("setup link file %s: %v, %v (want mode 0600)", s.m.linkFile, fi, err)
	}
	b, err := os.ReadFile(s.m.linkFile)
	if err != nil {
		t.Fatal(err)
	}
	link := strings.TrimSpace(string(b))
	if !strings.HasPrefix(link, s.m.base+"/setup?token=") {
		t.Fatalf("setup link %q is not on %s", link, s.m.base)
	}
	tb.nav(link)
	tb.waitFor("the setup form", `!!document.querySelector("[data-test=setup-form]")`, "document.body.innerText", 5*time.Second)
	tb.typeIn("[data-test=setup-password]", password)
	tb.typeIn("[data-test=setup-confirm]", password)
	tb.save("setup", false)
	tb.click("[data-test=setup-submit]")
	tb.waitPath("/")
	tb.waitFor("logged in", `!!document.querySelector("[data-test=logout]")`, "document.body.innerText", 5*time.Second)
	if _, err := os.Stat(s.m.linkFile); err == nil {
		t.Error("the setup link file is still there after setup")
	}
	s.checkSessionCookie(tb)

	// The link was for one use.
	other := s.c.newIncognito(t)
	other.nav(link)
	other.waitFor("a used setup link is refused", `!!document.querySelector("[data-test=setup-invalid]") && !document.querySelector("[data-test=setup-form]")`, "document.body.innerText", 5*time.Second)
}

// checkSessionCookie: the session is a __Host- cookie, HttpOnly (no
// script reads it), SameSite=Strict and Secure (Chromium treats
// http://127.0.0.1 as a secure context and keeps it).
func (s *scenario) checkSessionCookie(tb *tab) {
	t := s.t
	res, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.m.base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, c := range res.Cookies {
		if !strings.HasPrefix(c.Name, "__Host-") {
			t.Errorf("cookie %s: not a __Host- cookie", c.Name)
			continue
		}
		found = true
		if !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteStrict || c.Path != "/" || c.Domain != "127.0.0.1" {
			t.Errorf("session cookie %s: HttpOnly %v Secure %v SameSite %q Path %q Domain %q", c.Name, c.HTTPOnly, c.Secure, c.SameSite, c.Path, c.Domain)
		}
	}
	if !found {
		t.Fatalf("no session cookie after login: %+v", res.Cookies)
	}
	if dc := eval[string](tb, `document.cookie`); dc != "" {
		t.Errorf("script can read cookies: %q", dc)
	}
}

// logoutLogin: logging out ends the session (the pages go back to the
// login page), a wrong password is refused with a message, the right one
// logs in.
func (s *scenario) logoutLogin() {
	t, tb := s.t, s.tab
	tb.click("[data-test=logout]")
	tb.waitPath("/login")
	tb.nav(s.m.base + "/")
	tb.waitPath("/login")
	tb.waitFor("the login form", `!!document.querySelector("[data-test=login-form]")`, "document.body.innerText", 5*time.Second)
	tb.typeIn("[data-test=login-password]", "not the password at all")
	tb.click("[data-test=login-submit]")
	tb.waitFor("a wrong password is refused", `(e => e && !e.hidden && e.textContent.length > 0)(document.querySelector("[data-test=form-error]"))`, "document.body.innerText", 10*time.Second)
	if p := eval[string](tb, `location.pathname`); p != "/login" {
		t.Fatalf("after a wrong password the browser is at %s", p)
	}
	tb.typeIn("[data-test=login-password]", password)
	tb.save("login", false)
	tb.click("[data-test=login-submit]")
	tb.waitPath("/")
	tb.waitFor("logged in", `!!document.querySelector("[data-test=logout]")`, "document.body.innerText", 5*time.Second)
}

// importConfig: a configuration with a bad line is refused and the error
// names the line, which the text area selects; the good one is stored
// and its page opens.
func (s *scenario) importConfig() {
	t, tb := s.t, s.tab
	tb.click("[data-test=nav-import]")
	tb.waitPath("/import")
	good := s.e.tunnelConfig()
	badLine := "Address = 10.66.0.1/40, fd66::1/64"
	bad := strings.Replace(good, "Address = 10.66.0.1/24, fd66::1/64", badLine, 1)
	if bad == good || strings.Split(bad, "\n")[2] != badLine {
		t.Fatal("the bad configuration is not bad on line 3")
	}
	tb.typeIn("[data-test=import-name]", s.e.tunnel)
	tb.setValue("[data-test=import-config]", bad)
	tb.click("[data-test=import-submit]")
	errShown := `(e => e && !e.hidden && e.dataset.line === "3")(document.querySelector("[data-test=form-error]"))`
	tb.waitFor("the error for line 3", errShown, `document.querySelector("[data-test=form-error]").outerHTML`, 10*time.Second)
	msg := tb.text("[data-test=form-error]")
	if !strings.Contains(msg, "line 3") || !strings.Contains(msg, "/40") {
		t.Errorf("the error shown does not name line 3 and what is wrong there: %q", msg)
	}
	if sel := eval[string](tb, `(ta => ta.value.substring(ta.selectionStart, ta.selectionEnd))(document.querySelector("[data-test=import-config]"))`); sel != badLine {
		t.Errorf("the text area selects %q, want the bad line %q", sel, badLine)
	}
	if p := eval[string](tb, `location.pathname`); p != "/import" {
		t.Fatalf("a bad import left the page for %s", p)
	}
	tb.save("import-error", false)

	tb.setValue("[data-test=import-config]", good)
	tb.click("[data-test=import-submit]")
	tb.waitPath("/tunnels/" + s.e.tunnel)
	if fi, err := os.Stat(s.e.confDir + "/" + s.e.tunnel + ".conf"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the stored configuration: %v, %v (want mode 0600)", fi, err)
	}
}

// rowSel selects the tunnel's row in the list.
func (s *scenario) rowSel() string {
	return fmt.Sprintf(`[data-test=tunnel-row][data-tunnel=%q]`, s.e.tunnel)
}

// activate: the list shows the tunnel inactive; its Activate button runs
// warren up, the list shows it active, with up's output.
func (s *scenario) activate() {
	t, tb := s.t, s.tab
	tb.click("[data-test=nav-tunnels]")
	tb.waitPath("/")
	row := s.rowSel()
	tb.waitFor("the tunnel listed, inactive", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(row+` [data-test=tunnel-state][data-running=false]`)), "document.body.innerText", 5*time.Second)
	tb.click(row + " [data-test=activate]")
	// The output shows once the page, reloaded, has run its script.
	tb.waitFor("the tunnel active, with up's output", fmt.Sprintf(`!!document.querySelector(%s) && !document.querySelector("[data-test=action-output]").hidden`, jsString(row+` [data-test=tunnel-state][data-running=true]`)),
		"document.body.innerText", 30*time.Second)
	out := tb.text("[data-test=action-output]")
	if want := "ip -4 address add " + hubInner + "/24 dev " + s.e.tunnel; !strings.Contains(out, want) {
		t.Errorf("the activation's output does not show %q:\n%s", want, out)
	}
	// Again without the output, which names the test's directories.
	tb.nav(s.m.base + "/")
	tb.save("tunnels", false)
}

// peerSel selects the reference's row on the tunnel page.
func (s *scenario) peerSel() string {
	return fmt.Sprintf(`[data-test=peer-row][data-peer=%q]`, s.e.refKey.pub)
}

// graphState is what the page's graphs say about themselves.
type graphState struct {
	Samples  int    `json:"samples"`
	Rate     int64  `json:"rate"`
	Image    string `json:"image"`
	PeerN    int    `json:"peerSamples"`
	PeerRate int64  `json:"peerRate"`
	Rx       int64  `json:"rx"`
	Tx       int64  `json:"tx"`
	HS       string `json:"handshake"`
	HSTime   int64  `json:"handshakeTime"`
}

func (s *scenario) graphs(tb *tab) graphState {
	return eval[graphState](tb, fmt.Sprintf(`(() => {
		const g = document.querySelector("[data-test=tunnel-graph]");
		const row = document.querySelector(%s);
		const pg = row.querySelector("[data-test=peer-graph]");
		const hs = row.querySelector("[data-test=peer-handshake]");
		return {
			samples: +(g.dataset.samples || 0), rate: +(g.dataset.rate || 0), image: g.toDataURL(),
			peerSamples: +(pg.dataset.samples || 0), peerRate: +(pg.dataset.rate || 0),
			rx: +row.querySelector("[data-test=peer-rx]").dataset.bytes,
			tx: +row.querySelector("[data-test=peer-tx]").dataset.bytes,
			handshake: hs.textContent, handshakeTime: +hs.dataset.time,
		};
	})()`, jsString(s.peerSel())))
}

var ageRE = regexp.MustCompile(`^\d+ s ago$`)

// liveTraffic: the tunnel page shows the handshake's age, then, while
// iperf3 runs through the tunnel, the graphs move (new samples, a rate,
// a different picture) and the counters grow, without a reload.
func (s *scenario) liveTraffic() {
	t, tb := s.t, s.tab
	tb.click(s.rowSel() + " [data-test=tunnel-link]")
	tb.waitPath("/tunnels/" + s.e.tunnel)
	peer := s.peerSel()
	tb.waitFor("the reference's handshake, live", fmt.Sprintf(`(r => r && +r.querySelector("[data-test=peer-handshake]").dataset.time > 0 && /^\d+ s ago$/.test(r.querySelector("[data-test=peer-handshake]").textContent))(document.querySelector(%s))`, jsString(peer)),
		fmt.Sprintf(`document.querySelector(%s).outerHTML`, jsString(peer)), 30*time.Second)
	tb.waitFor("the live graph has samples", `+document.querySelector("[data-test=tunnel-graph]").dataset.samples >= 2`, `document.querySelector("[data-test=tunnel-graph]").outerHTML`, 10*time.Second)
	marker := eval[bool](tb, `(window.warrenTestMarker = true)`) // gone if the page reloads
	before := s.graphs(tb)
	if !ageRE.MatchString(before.HS) || before.HSTime <= 0 {
		t.Fatalf("handshake shown as %q (time %d)", before.HS, before.HSTime)
	}
	if name := tb.text(peer + " [data-test=peer-name]"); name != "the reference" {
		t.Errorf("the reference's name shows as %q", name)
	}

	// For the screenshots, traffic for a while: a graph, not a spike.
	secs := 6
	if screenshots() != "" {
		secs = 30
	}
	started := time.Now()
	done := s.e.iperf(secs)
	// 20 Mbit/s each way is 2.5 MB/s: the rate shown must see most of it.
	const minRate = 1 << 20
	tb.waitFor("the live graph shows iperf3's rate", fmt.Sprintf(`+document.querySelector("[data-test=tunnel-graph]").dataset.rate > %d`, minRate),
		`document.querySelector("[data-test=tunnel-graph]").outerHTML`, 15*time.Second)
	during := s.graphs(tb)
	// And it goes on moving (a sample a second, or later on a loaded
	// machine).
	var later graphState
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		later = s.graphs(tb)
		if later.Samples > during.Samples && later.Image != during.Image && later.PeerN > during.PeerN || time.Now().After(deadline) {
			break
		}
	}
	if later.Samples <= during.Samples || during.Samples <= before.Samples {
		t.Errorf("the live graph's samples did not grow: %d, %d, %d", before.Samples, during.Samples, later.Samples)
	}
	if later.Image == during.Image || during.Image == before.Image {
		t.Error("the live graph's picture did not change while traffic flowed")
	}
	if during.PeerRate < minRate || later.PeerN <= during.PeerN || during.PeerN <= before.PeerN {
		t.Errorf("the peer's graph: rate %d, samples %d, %d, %d", during.PeerRate, before.PeerN, during.PeerN, later.PeerN)
	}
	if later.Rx-before.Rx < 2<<20 || later.Tx-before.Tx < 2<<20 {
		t.Errorf("the peer's counters grew by rx %d, tx %d bytes; iperf3 moves MBs each way", later.Rx-before.Rx, later.Tx-before.Tx)
	}
	if !ageRE.MatchString(later.HS) {
		t.Errorf("handshake shown as %q", later.HS)
	}
	if screenshots() != "" {
		time.Sleep(time.Until(started.Add(time.Duration(secs-2) * time.Second)))
		tb.save("tunnel", true)
	}
	select {
	case out := <-done:
		if strings.Contains(out, "iperf3:") || !strings.Contains(out, "receiver") {
			t.Fatalf("iperf3 through the tunnel:\n%s", out)
		}
	case <-time.After(time.Until(started.Add(time.Duration(secs+15) * time.Second))):
		t.Fatal("iperf3 did not end")
	}
	if !eval[bool](tb, `window.warrenTestMarker === true`) || !marker {
		t.Error("the tunnel page reloaded: the updates must come without one")
	}
}

// logs: the manager's log shows the activation, the tunnel's log the
// device's handshake, each as live lines.
func (s *scenario) logs() {
	tb := s.tab
	tb.click("[data-test=nav-log]")
	tb.waitPath("/log")
	tb.waitFor("the activation in the manager's log", fmt.Sprintf(`[...document.querySelectorAll("[data-test=log-line][data-tag=UP]")].some(l => l.textContent.includes(%s))`, jsString("activated "+s.e.tunnel)),
		`document.querySelector("[data-test=log]").innerText`, 10*time.Second)
	tb.save("log", false)
	tb.nav(s.m.base + "/tunnels/" + s.e.tunnel + "/log")
	tb.waitFor("the device's handshake in the tunnel's log", `[...document.querySelectorAll("[data-test=log-line]")].some(l => /handshake/i.test(l.textContent))`,
		`document.querySelector("[data-test=log]").innerText`, 10*time.Second)
}

// htmlName renames the reference to a name made of HTML through the
// page's form: the page shows it as text. The page's CSP would stop an
// inline script even if it were inserted, so what is checked is the DOM:
// no element came from the name (and, in noDialogs, no dialog opened).
func (s *scenario) htmlName() {
	t, tb := s.t, s.tab
	tb.nav(s.m.base + "/tunnels/" + s.e.tunnel)
	peer := s.peerSel()
	tb.setValue(peer+" [data-test=peer-name-input]", xssName)
	tb.click(peer + " [data-test=peer-name-save]")
	tb.waitFor("the new name shown", fmt.Sprintf(`(e => e && e.textContent === %s)(document.querySelector(%s))`, jsString(xssName), jsString(peer+" [data-test=peer-name]")),
		fmt.Sprintf(`document.querySelector(%s).innerHTML`, jsString(peer+" [data-test=peer-name]")), 10*time.Second)
	noMarkup(s, tb)
	if v := eval[string](tb, fmt.Sprintf(`document.querySelector(%s).value`, jsString(peer+" [data-test=peer-name-input]"))); v != xssName {
		t.Errorf("the rename field holds %q", v)
	}
	// And back, for the pictures.
	tb.setValue(peer+" [data-test=peer-name-input]", "the reference")
	tb.click(peer + " [data-test=peer-name-save]")
	tb.waitFor("the name back", fmt.Sprintf(`(e => e && e.textContent === "the reference")(document.querySelector(%s))`, jsString(peer+" [data-test=peer-name]")),
		"document.body.innerText", 10*time.Second)
}

// crossOrigin: a page on another origin of the same site (127.0.0.1 on
// another port, so the SameSite=Strict session cookie goes along) posts
// to the manager, with fetch and with a form. The browser sends the
// session; the manager refuses both for their origin, and the tunnel
// keeps running.
func (s *scenario) crossOrigin() {
	t, tb := s.t, s.tab
	target := s.m.base + "/api/tunnels/" + s.e.tunnel + "/deactivate"
	l := listenIn(t, s.e.hub, "127.0.0.1:0")
	other := "http://" + l.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/fetch":
			fmt.Fprintf(w, `<!doctype html><title>fetching</title><script>
fetch(%s, {method: "POST", mode: "no-cors", credentials: "include"}).finally(() => { document.title = "sent"; });
</script>`, jsString(target))
		case "/form":
			fmt.Fprintf(w, `<!doctype html><title>form</title><form method="post" action=%q></form><script>document.forms[0].submit();</script>`, target)
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	isTarget := func(x *exchange) bool { return x.method == "POST" && x.url == target }
	tb.nav(other + "/fetch")
	// The answer is opaque to the page, or refused for its
	// Cross-Origin-Resource-Policy: either way the request went.
	tb.waitFor("the cross-origin fetch sent", `document.title === "sent"`, "document.title", 10*time.Second)
	tb.nav(other + "/form")
	tb.waitFor("the cross-origin form posted", fmt.Sprintf(`location.href === %s`, jsString(target)), "location.href", 10*time.Second)
	if body := tb.text("body"); !strings.Contains(body, `"cross-origin"`) {
		t.Errorf("the form's answer: %q", body)
	}
	var posts []exchange
	for deadline := time.Now().Add(5 * time.Second); len(posts) < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		posts = tb.record.find(func(x *exchange) bool { return isTarget(x) && x.status != 0 && x.reqHeaders != nil })
	}
	if len(posts) != 2 {
		t.Fatalf("saw %d cross-origin POSTs to %s, want 2", len(posts), target)
	}
	for _, x := range posts {
		if x.status != http.StatusForbidden {
			t.Errorf("cross-origin POST: %d, want 403", x.status)
		}
		if !strings.Contains(header(x.reqHeaders, "Cookie"), "__Host-") {
			t.Errorf("the browser did not send the session with the cross-origin POST (so the test proves nothing): %v", x.reqHeaders)
		}
		if site := header(x.reqHeaders, "Sec-Fetch-Site"); site != "same-site" {
			t.Errorf("Sec-Fetch-Site %q, want same-site", site)
		}
	}
	tb.nav(s.m.base + "/tunnels/" + s.e.tunnel)
	tb.waitFor("the tunnel still active", `!!document.querySelector("[data-test=tunnel-state][data-running=true]")`, `document.querySelector("[data-test=tunnel-state]").outerHTML`, 5*time.Second)
}

// foreignHost: a name that resolves to this machine (DNS rebinding) is
// refused on every path, the login and the assets included.
func (s *scenario) foreignHost() {
	t, tb := s.t, s.tab
	base := "http://" + foreignHost + ":" + s.m.port
	for _, path := range []string{"/", "/login", "/assets/app.js", "/api/tunnels"} {
		resp := tb.navResponse(base + path)
		if resp.Status != http.StatusMisdirectedRequest {
			t.Errorf("GET %s%s: %d, want 421", base, path, resp.Status)
		}
		if body := tb.text("body"); !strings.Contains(body, `"host"`) {
			t.Errorf("GET %s%s: %q", base, path, body)
		}
	}
}

// restartHistory stops the manager (SIGTERM) and starts it again on the
// same port and state: the session is gone, and after logging in the
// tunnel's history has the traffic from before the restart, drawn on
// its graph.
func (s *scenario) restartHistory() {
	t, tb := s.t, s.tab
	restart := time.Now()
	s.m.stop(t)
	s.m = s.e.startManager(s.m.port)
	tb.nav(s.m.base + "/tunnels/" + s.e.tunnel)
	tb.waitPath("/login")
	tb.typeIn("[data-test=login-password]", password)
	tb.click("[data-test=login-submit]")
	tb.waitPath("/")
	tb.nav(s.m.base + "/tunnels/" + s.e.tunnel)
	tb.waitFor("the history graph drawn", `(g => +g.dataset.points > 0 && +g.dataset.rxBytes > 0)(document.querySelector("[data-test=history-graph]"))`,
		`document.querySelector("[data-test=history-graph]").outerHTML`, 10*time.Second)
	type point struct {
		Start   int64 `json:"start"`
		RxBytes int64 `json:"rxBytes"`
		TxBytes int64 `json:"txBytes"`
	}
	h := eval[struct {
		Points []point `json:"points"`
	}](tb, fmt.Sprintf(`fetch("/api/tunnels/%s/history?range=hour").then(r => r.json())`, s.e.tunnel))
	var rx, tx int64
	for _, p := range h.Points {
		if p.Start < restart.Unix() {
			rx += p.RxBytes
			tx += p.TxBytes
		}
	}
	// iperf3 moved about 15 MB each way before the restart.
	if rx < 4<<20 || tx < 4<<20 {
		t.Errorf("history before the restart: rx %d, tx %d bytes in %d points", rx, tx, len(h.Points))
	}
	tb.scrollTop("#history-ranges")
	tb.save("history", false)
	tb.click(`[data-test=history-range][data-range=day]`)
	tb.waitFor("the day's history", `(g => g.dataset.range === "day" && +g.dataset.points > 0 && +g.dataset.rxBytes > 0)(document.querySelector("[data-test=history-graph]"))`,
		`document.querySelector("[data-test=history-graph]").outerHTML`, 10*time.Second)
}

// noStore: the pages and API answers that hold secrets (the edit page
// and the configuration with the private key) and every other answer
// but the static assets are Cache-Control: no-store, as the browser
// received them.
func (s *scenario) noStore() {
	t, tb := s.t, s.tab
	tb.nav(s.m.base + "/tunnels/" + s.e.tunnel + "/edit")
	if v := eval[string](tb, `document.querySelector("[data-test=edit-config]").value`); !strings.Contains(v, s.e.hubKey.priv) {
		t.Fatal("the edit page does not show the configuration")
	}
	if v := eval[string](tb, fmt.Sprintf(`fetch("/api/tunnels/%s/config").then(r => r.json()).then(j => j.config)`, s.e.tunnel)); !strings.Contains(v, s.e.hubKey.priv) {
		t.Fatal("GET /api/tunnels/NAME/config does not give the configuration")
	}
	secrets := map[string]bool{"/tunnels/" + s.e.tunnel + "/edit": false, "/api/tunnels/" + s.e.tunnel + "/config": false}
	n := 0
	for _, x := range tb.record.find(func(x *exchange) bool { return strings.HasPrefix(x.url, s.m.base+"/") && x.status != 0 }) {
		path := strings.TrimPrefix(x.url, s.m.base)
		if strings.HasPrefix(path, "/assets/") {
			continue
		}
		n++
		if _, ok := secrets[path]; ok {
			secrets[path] = true
		}
		if cc := header(x.respHeader, "Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("%s %s (%d): Cache-Control %q", x.method, path, x.status, cc)
		}
	}
	for path, seen := range secrets {
		if !seen {
			t.Errorf("the browser never received %s", path)
		}
	}
	// A new client's configuration (the answer to the POST that adds
	// it), its QR code (the img's one-time link) and its one-time link
	// (fetched from another browser context).
	adds := tb.record.find(func(x *exchange) bool {
		return x.method == "POST" && x.url == s.m.base+"/api/tunnels/"+s.e.tunnel+"/clients" && x.status == http.StatusCreated
	})
	qrs := tb.record.find(func(x *exchange) bool {
		return strings.HasPrefix(x.url, s.m.base+"/api/once/") && x.status == http.StatusOK
	})
	for what, xs := range map[string][]exchange{"a client's configuration": adds, "a client's QR code": qrs, "a one-time link": s.onceExchanges} {
		if len(xs) == 0 {
			t.Errorf("the browser never received %s", what)
		}
		for _, x := range xs {
			if cc := header(x.respHeader, "Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("%s (%s %s, %d): Cache-Control %q", what, x.method, x.url, x.status, cc)
			}
		}
	}
	t.Logf("%d responses checked", n)
}

// noDialogs: no page opened a dialog (an injected alert would) but the
// confirmation of deleting a client.
func (s *scenario) noDialogs() {
	for _, d := range s.tab.record.seenDialogs() {
		if d.kind != page.DialogTypeConfirm || !strings.HasPrefix(d.message, "Delete ") {
			s.t.Errorf("a dialog opened: %+v", d)
		}
	}
}
