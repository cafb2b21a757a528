package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The browser window, fixed so that screenshots are alike from run to run.
const (
	windowWidth  = 1100
	windowHeight = 760
)

// foreignHost is a name the browser resolves to 127.0.0.1 (as DNS
// rebinding would make it) and the manager must refuse.
const foreignHost = "rebind.example"

// actionTimeout bounds every single browser action.
const actionTimeout = 30 * time.Second

// chrome is Debian's Chromium, headless, running inside a network
// namespace and driven over a pipe (so the test, outside the namespace,
// needs no network path to it).
type chrome struct {
	t      *testing.T
	ctx    context.Context // the browser's root context (the first tab)
	out    *lockedBuffer   // Chromium's own output
	record *recorder
}

// tab is one tab of the browser, in its own browser context (cookies)
// or the first one's.
type tab struct {
	t      *testing.T
	c      *chrome
	ctx    context.Context
	record *recorder
}

// startChrome starts Chromium in namespace ns, with a fresh profile
// directory; it is killed when the test ends.
func startChrome(t *testing.T, ns string) (*chrome, *tab) {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal(err)
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Fatal(err)
	}
	c := &chrome{t: t, out: new(lockedBuffer)}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// This machine's (and CI's) network is closed: nothing may
		// try to reach Google's services.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("force-device-scale-factor", "1"),
		chromedp.Flag("host-resolver-rules", "MAP "+foreignHost+" 127.0.0.1"),
		chromedp.WindowSize(windowWidth, windowHeight),
		chromedp.CombinedOutput(c.out),
		// chromedp makes a fresh --user-data-dir and removes it.
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			cmd.Path = ip
			cmd.Args = append([]string{"ip", "netns", "exec", ns}, cmd.Args...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		}),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	c.record = newRecorder()
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithListener(c.record.listen))
	c.ctx = ctx
	c.record.ctx = ctx // before any event can come
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	start, cancelStart := context.WithTimeout(ctx, 60*time.Second)
	defer cancelStart()
	// The first action starts the browser; a timeout on its context
	// would end the browser with it, so wait on the side.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting chromium: %v\n%s", err, c.out)
		}
	case <-start.Done():
		t.Fatalf("chromium did not start in 60 s:\n%s", c.out)
	}
	return c, &tab{t: t, c: c, ctx: ctx, record: c.record}
}

// newIncognito opens a tab in a new browser context: no cookies.
func (c *chrome) newIncognito(t *testing.T) *tab {
	r := newRecorder()
	ctx, cancel := chromedp.NewContext(c.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(r.listen))
	t.Cleanup(cancel)
	r.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	return &tab{t: t, c: c, ctx: ctx, record: r}
}

// do runs actions with a timeout and fails the test if one fails.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v (at %s)", what, err, tb.location())
	}
}

// nav loads url and waits for its load event.
func (tb *tab) nav(url string) {
	tb.t.Helper()
	tb.do("navigate to "+url, chromedp.Navigate(url))
}

// navResponse loads url and returns the main document's response.
func (tb *tab) navResponse(url string) *network.Response {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		tb.t.Fatalf("navigate to %s: %v", url, err)
	}
	return resp
}

// location is the tab's URL ("" if it cannot be read).
func (tb *tab) location() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// eval evaluates a JavaScript expression in the page and decodes its
// value into T.
func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v (at %s)", js, err, tb.location())
	}
	return v
}

// waitFor evaluates js (a boolean expression) until it is true; after
// timeout it fails the test, showing what describe (an expression) says
// about the page then.
func (tb *tab) waitFor(what, js, describe string, timeout time.Duration) {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		// An evaluation fails while the page navigates: try again.
		lastErr = err
		if time.Now().After(deadline) {
			state := ""
			if describe != "" {
				ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
				raw, _ := chromedp.Run(ctx, chromedp.Evaluate[[]byte](describe))
				cancel()
				state = string(raw)
			}
			tb.t.Fatalf("%s: not after %v (at %s; %v): %s", what, timeout, tb.location(), lastErr, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitPath waits until the tab shows path (and its document loaded).
func (tb *tab) waitPath(path string) {
	tb.t.Helper()
	tb.waitFor("page "+path, fmt.Sprintf(`location.pathname === %s && document.readyState === "complete"`, jsString(path)), "location.href + ' ' + document.body.innerText", 20*time.Second)
}

// click clicks (with the mouse) the first element sel matches.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// typeIn types text into the field sel matches, key by key.
func (tb *tab) typeIn(sel, text string) {
	tb.t.Helper()
	// chromedp.Clear only resets the value attribute, not what was typed.
	tb.setValue(sel, "")
	tb.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// setValue sets a field's value at once (long texts, where typing key
// by key would take seconds).
func (tb *tab) setValue(sel, text string) {
	tb.t.Helper()
	tb.waitFor("field "+sel, fmt.Sprintf(`!!document.querySelector(%s)`, jsString(sel)), "document.body.innerText", 10*time.Second)
	eval[bool](tb, fmt.Sprintf(`(f => (f.value = %s, f.dispatchEvent(new Event("input", {bubbles: true})), true))(document.querySelector(%s))`, jsString(text), jsString(sel)))
}

// scrollTop scrolls the page so that the element sel matches is at the
// top of the window.
func (tb *tab) scrollTop(sel string) {
	tb.t.Helper()
	eval[bool](tb, fmt.Sprintf(`(document.querySelector(%s).scrollIntoView({block: "start"}), true)`, jsString(sel)))
}

// text is the text content of the first element sel matches.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return eval[string](tb, fmt.Sprintf(`(document.querySelector(%s) || {}).textContent || ""`, jsString(sel)))
}

// screenshot is a PNG of the viewport, or of the whole page when full.
func (tb *tab) screenshot(full bool) []byte {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	act := chromedp.CaptureScreenshot()
	if full {
		act = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(ctx, act)
	if err != nil {
		tb.t.Fatalf("screenshot: %v", err)
	}
	return png
}

// screenshots is the directory WARREN_SCREENSHOTS names, or "". A
// relative one is relative to the repository's root (go test runs in
// the package's directory).
func screenshots() string {
	dir := os.Getenv("WARREN_SCREENSHOTS")
	if dir != "" && !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir)
	}
	return dir
}

// save writes a screenshot named name.png into the directory
// WARREN_SCREENSHOTS names, if it does.
func (tb *tab) save(name string, full bool) {
	tb.t.Helper()
	dir := screenshots()
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), tb.screenshot(full), 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// exchange is one HTTP request the browser made and its response, as
// the DevTools protocol's network events tell them.
type exchange struct {
	id         network.RequestID
	method     string
	url        string
	reqHeaders network.Headers // as sent on the wire (Cookie included)
	status     int64
	respHeader network.Headers
}

// header is a header's value, its name matched case-insensitively.
func header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v)
		}
	}
	return ""
}

// dialog is a JavaScript dialog (alert, confirm, prompt) a page opened.
type dialog struct {
	kind    page.DialogType
	message string
	url     string
}

// recorder keeps the network exchanges and dialogs of a tab. Its listen
// runs in the tab's event loop: it must return at once and send no
// command (it accepts a dialog from another goroutine).
type recorder struct {
	ctx       context.Context
	mu        sync.Mutex
	exchanges []*exchange
	byID      map[network.RequestID]*exchange
	dialogs   []dialog
}

func newRecorder() *recorder { return &recorder{byID: map[network.RequestID]*exchange{}} }

// get is the exchange with id, made if it is new (the extra-info events
// may come before the request's).
func (r *recorder) get(id network.RequestID) *exchange {
	x := r.byID[id]
	if x == nil {
		x = &exchange{id: id}
		r.byID[id] = x
		r.exchanges = append(r.exchanges, x)
	}
	return x
}

func (r *recorder) listen(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		x := r.get(ev.RequestID)
		if ev.RedirectResponse != nil {
			// The same id goes on with the redirect's target: the
			// redirect is an exchange of its own.
			hop := *x
			hop.status, hop.respHeader = ev.RedirectResponse.Status, ev.RedirectResponse.Headers
			r.exchanges = append(r.exchanges, &hop)
			x.reqHeaders, x.status, x.respHeader = nil, 0, nil
		}
		x.method, x.url = ev.Request.Method, ev.Request.URL
	case *network.EventRequestWillBeSentExtraInfo:
		r.get(ev.RequestID).reqHeaders = ev.Headers
	case *network.EventResponseReceived:
		x := r.get(ev.RequestID)
		x.status, x.respHeader = ev.Response.Status, ev.Response.Headers
	case *network.EventResponseReceivedExtraInfo:
		// Also for responses the page may not read (CORS).
		x := r.get(ev.RequestID)
		if x.status == 0 {
			x.status, x.respHeader = ev.StatusCode, ev.Headers
		}
	case *page.EventJavascriptDialogOpening:
		r.dialogs = append(r.dialogs, dialog{ev.Type, ev.Message, ev.URL})
		ctx := r.ctx
		go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
	}
}

// find returns the exchanges whose method and URL match.
func (r *recorder) find(match func(x *exchange) bool) []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []exchange
	for _, x := range r.exchanges {
		if match(x) {
			out = append(out, *x)
		}
	}
	return out
}

func (r *recorder) seenDialogs() []dialog {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]dialog(nil), r.dialogs...)
}
