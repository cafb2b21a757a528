package browser

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// clientName is the client whose QR code the test scans and brings up.
const clientName = "alice-phone"

// xssClientName is another client's name made of HTML (not the peer's
// xssName: two peers of a tunnel cannot share a name).
const xssClientName = `<img src=x onerror=alert(2)><script>alert("warren-xss")</script>`

// created is what the clients page shows of a client just added.
type created struct {
	Name     string `json:"name"`
	Config   string `json:"config"`
	QRLoaded bool   `json:"qrLoaded"`
	QRSrc    string `json:"qrSrc"`
	FileName string `json:"fileName"`
	Link     string `json:"link"`
}

// clients sets the tunnel's client settings, adds a client and reads
// its QR code from a screenshot of the page with zbarimg: the text is
// the configuration the page offers, its download and its one-time link
// give the same, and `warren up` of it in a third namespace reaches the
// server through the tunnel. A second client, named with HTML, shows as
// text on the clients page and the tunnel page.
func (s *scenario) clients() {
	t, tb := s.t, s.tab
	tb.nav(s.m.base + "/tunnels/" + s.e.tunnel)
	tb.click("[data-test=clients-link]")
	tb.waitPath("/tunnels/" + s.e.tunnel + "/clients")
	tb.waitFor("the page asks for an endpoint host", `(e => e && !e.hidden)(document.querySelector("[data-test=client-no-endpoint]"))`, "document.body.innerText", 5*time.Second)

	tb.typeIn("[data-test=client-endpoint-host]", hubPhoneAddr)
	tb.setValue("[data-test=client-dns]", "")
	tb.setValue("[data-test=client-allowed-ips]", "10.66.0.0/24, fd66::/64")
	tb.setValue("[data-test=client-keepalive]", "1")
	tb.click("[data-test=client-settings-save]")
	tb.waitFor("the settings saved", `(e => e && !e.hidden)(document.querySelector("[data-test=client-settings-saved]"))`,
		`document.querySelector("[data-test=form-error]").textContent`, 10*time.Second)

	tb.typeIn("[data-test=client-name]", clientName)
	tb.click("[data-test=client-add]")
	tb.waitFor("the new client's configuration and QR code", `(b => b && !b.hidden && document.querySelector("[data-test=client-config]").textContent.length > 0 && (q => q.complete && q.naturalWidth > 0)(document.querySelector("[data-test=client-qr]")))(document.querySelector("[data-test=client-created]"))`,
		`document.querySelector("[data-test=form-error]").textContent`, 15*time.Second)
	c := eval[created](tb, `(() => {
		const q = document.querySelector("[data-test=client-qr]");
		const a = document.querySelector("[data-test=client-download]");
		return {
			name: document.querySelector("[data-test=client-created-name]").textContent,
			config: document.querySelector("[data-test=client-config]").textContent,
			qrLoaded: q.complete && q.naturalWidth > 0, qrSrc: q.getAttribute("src"),
			fileName: a.getAttribute("download"),
			link: document.querySelector("[data-test=client-link]").value,
		};
	})()`)
	if c.Name != clientName || !strings.Contains(c.Config, "PrivateKey = ") || !strings.Contains(c.Config, "Endpoint = "+hubPhoneAddr+":51820") {
		t.Fatalf("the new client shown: name %q, configuration:\n%s", c.Name, c.Config)
	}
	if c.FileName != clientName+".conf" {
		t.Errorf("the download is named %q", c.FileName)
	}

	// The QR code, as a phone's camera would see it: from the screen.
	tb.scrollTop("[data-test=client-created]")
	shot := tb.screenshot(false)
	tb.save("client-qr", false)
	png := filepath.Join(s.e.dir, "client-qr.png")
	if err := os.WriteFile(png, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("zbarimg", "--quiet", "--raw", png).Output()
	if err != nil {
		t.Fatalf("zbarimg found no QR code in the screenshot: %v", err)
	}
	decoded := strings.TrimSuffix(string(out), "\n")
	if decoded != c.Config && decoded != strings.TrimSuffix(c.Config, "\n") {
		t.Fatalf("the QR code says:\n%s\nthe page offers:\n%s", decoded, c.Config)
	}

	// The download (a blob the page made) and the one-time link (no
	// session: another browser context) give the same text; the link
	// works once.
	if got := s.download("[data-test=client-download]", c.FileName); got != c.Config {
		t.Errorf("the download holds:\n%s", got)
	}
	if !strings.HasPrefix(c.Link, s.m.base+"/api/once/") {
		t.Fatalf("the one-time link %q", c.Link)
	}
	other := s.c.newIncognito(t)
	other.nav(s.m.base + "/login")
	type fetched struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	fetchOnce := fmt.Sprintf(`fetch(%s).then(r => r.text().then(b => ({status: r.status, body: b})))`, jsString(c.Link))
	if f := eval[fetched](other, fetchOnce); f.Status != http.StatusOK || f.Body != c.Config {
		t.Errorf("the one-time link: %d\n%s", f.Status, f.Body)
	}
	if f := eval[fetched](other, fetchOnce); f.Status != http.StatusNotFound {
		t.Errorf("the one-time link used again: %d", f.Status)
	}
	s.onceExchanges = append(s.onceExchanges, other.record.find(func(x *exchange) bool { return strings.Contains(x.url, "/api/once/") && x.status != 0 })...)

	// The scanned configuration, brought up in a third namespace,
	// reaches the server.
	conf := filepath.Join(s.e.dir, s.e.phoneIface+".conf")
	if err := os.WriteFile(conf, []byte(decoded+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.e.in(s.e.phone, s.e.warren, "up", conf)
	for _, addr := range []string{hubInner, "fd66::1"} {
		if out, err := exec.Command("ip", "netns", "exec", s.e.phone, "ping", "-c", "3", "-i", "0.2", "-W", "5", addr).CombinedOutput(); err != nil {
			t.Errorf("ping %s from the client through the tunnel: %v\n%s", addr, err, out)
		}
	}

	// The list, after Done: the client with its handshake.
	tb.click("[data-test=client-created-done]")
	row := `[data-test=client-row]`
	tb.waitFor("the client listed", fmt.Sprintf(`[...document.querySelectorAll(%s)].some(r => r.querySelector("[data-test=client-row-name]").textContent === %s)`, jsString(row), jsString(clientName)),
		"document.body.innerText", 10*time.Second)
	if eval[string](tb, `document.querySelector("[data-test=client-config]").textContent`) != "" {
		t.Error("the configuration is still in the page after Done")
	}
	hs := fmt.Sprintf(`[...document.querySelectorAll(%s)].some(r => r.querySelector("[data-test=client-row-name]").textContent === %s && +r.querySelector("[data-test=client-handshake]").dataset.time > 0)`, jsString(row), jsString(clientName))
	for deadline := time.Now().Add(10 * time.Second); !eval[bool](tb, hs); time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("the client's handshake is not shown: %s", tb.text("[data-test=clients]"))
		}
		tb.nav(s.m.base + "/tunnels/" + s.e.tunnel + "/clients")
	}

	tb.save("clients", true)

	// A client named with HTML: text on the clients page and the
	// tunnel's peers; deleted again (its button asks first).
	tb.typeIn("[data-test=client-name]", xssClientName)
	tb.click("[data-test=client-add]")
	tb.waitFor("the second client added", fmt.Sprintf(`(e => e && e.textContent === %s)(document.querySelector("[data-test=client-created-name]"))`, jsString(xssClientName)),
		`document.querySelector("[data-test=form-error]").textContent`, 15*time.Second)
	tb.click("[data-test=client-created-done]")
	tb.waitFor("the HTML-named client listed as text", fmt.Sprintf(`[...document.querySelectorAll(%s)].some(r => r.querySelector("[data-test=client-row-name]").textContent === %s)`, jsString(row), jsString(xssClientName)),
		"document.body.innerText", 10*time.Second)
	noMarkup(s, tb)
	tb.nav(s.m.base + "/tunnels/" + s.e.tunnel)
	tb.waitFor("the HTML-named client among the peers, as text", fmt.Sprintf(`[...document.querySelectorAll("[data-test=peer-name]")].some(e => e.textContent === %s)`, jsString(xssClientName)),
		`document.querySelector("[data-test=peers]").innerText`, 10*time.Second)
	noMarkup(s, tb)

	tb.nav(s.m.base + "/tunnels/" + s.e.tunnel + "/clients")
	id := eval[string](tb, fmt.Sprintf(`[...document.querySelectorAll(%s)].find(r => r.querySelector("[data-test=client-row-name]").textContent === %s).dataset.client`, jsString(row), jsString(xssClientName)))
	tb.click(fmt.Sprintf(`[data-test=client-row][data-client=%q] [data-test=client-delete]`, id))
	tb.waitFor("the HTML-named client deleted", fmt.Sprintf(`!document.querySelector(%s) && !!document.querySelector(%s)`, jsString(fmt.Sprintf(`[data-test=client-row][data-client=%q]`, id)), jsString(row)),
		`document.querySelector("[data-test=clients]").innerText`, 10*time.Second)
	if d := tb.record.seenDialogs(); len(d) != 1 || d[0].kind != page.DialogTypeConfirm {
		t.Errorf("deleting a client asked %+v, want one confirmation", d)
	}
}

// noMarkup fails the test if the page's main part holds an img element
// (but the QR code) or a script not from /assets/: the manager's pages
// have none, so one there came from a name inserted as HTML.
func noMarkup(s *scenario, tb *tab) {
	s.t.Helper()
	if n := eval[string](tb, `[...document.querySelectorAll("main script:not([src^='/assets/']), main img:not([data-test=client-qr])")].map(e => e.outerHTML).join(" ")`); n != "" {
		s.t.Errorf("%s: markup from a name: %s", eval[string](tb, "location.pathname"), n)
	}
}

// download clicks the link sel matches and returns the text of the file
// named name the browser saves.
func (s *scenario) download(sel, name string) string {
	t, tb := s.t, s.tab
	dir := filepath.Join(s.e.dir, "downloads")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(tb.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir,
	}); err != nil {
		t.Fatalf("allowing downloads: %v", err)
	}
	tb.click(sel)
	path := filepath.Join(dir, name)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil {
			if _, err := os.Stat(path + ".crdownload"); err != nil {
				return string(b)
			}
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(dir)
			t.Fatalf("no download %s after 10 s (%v)", path, entries)
		}
	}
}
