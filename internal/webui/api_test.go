package webui

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/manager"
)

func TestTunnelAPI(t *testing.T) {
	f := newFixture(t, nil)
	f.login()
	conf, alice := tunnelConfig(t, "alice")

	// A bad line is named.
	var e apiError
	w := f.call("POST", "/api/tunnels", map[string]string{"name": "wg0", "config": strings.Replace(conf, "ListenPort = 51820", "ListenPort = lots", 1)}, &e)
	if w.Code != http.StatusUnprocessableEntity || e.Code != "invalid" || e.Line != 3 {
		t.Fatalf("bad import: %d %+v", w.Code, e)
	}
	if w := f.call("POST", "/api/tunnels", map[string]string{"name": "../x", "config": conf}, &e); w.Code != http.StatusBadRequest || e.Code != "bad-name" {
		t.Errorf("bad name: %d %+v", w.Code, e)
	}
	if w := f.call("POST", "/api/tunnels", map[string]any{"name": "wg0", "config": conf, "extra": 1}, nil); w.Code != http.StatusBadRequest {
		t.Errorf("unknown field: %d", w.Code)
	}
	if w := f.call("POST", "/api/tunnels", map[string]string{"name": "wg0", "config": conf}, nil); w.Code != http.StatusCreated {
		t.Fatalf("import: %d %s", w.Code, w.Body.String())
	}
	if w := f.call("POST", "/api/tunnels", map[string]string{"name": "wg0", "config": conf}, &e); w.Code != http.StatusConflict || e.Code != "exists" {
		t.Errorf("second import: %d %+v", w.Code, e)
	}

	var act actionJSON
	if w := f.call("POST", "/api/tunnels/wg0/activate", nil, &act); w.Code != http.StatusOK || !strings.Contains(act.Output, "warren daemon wg0") {
		t.Fatalf("activate: %d %+v", w.Code, act)
	}
	var list struct {
		Tunnels  []tunnelJSON
		Warnings []warningJSON
	}
	f.call("GET", "/api/tunnels", nil, &list)
	if len(list.Tunnels) != 1 || !list.Tunnels[0].Running || list.Tunnels[0].Peers[0].Name != "alice" || list.Tunnels[0].Peers[0].PublicKey != alice.String() {
		t.Errorf("list: %+v", list)
	}

	// Edit: applied to the running tunnel, with what needs a restart.
	var cfg struct{ Config string }
	f.call("GET", "/api/tunnels/wg0/config", nil, &cfg)
	if cfg.Config != conf {
		t.Errorf("config is not the file as stored")
	}
	var ed struct {
		Applied       bool
		RestartNeeded []string
	}
	edited := strings.Replace(cfg.Config, "Address = 10.8.0.1/24", "Address = 10.8.0.1/24, fd00::1/64", 1)
	if w := f.call("PUT", "/api/tunnels/wg0/config", map[string]string{"config": edited}, &ed); w.Code != http.StatusOK || !ed.Applied || len(ed.RestartNeeded) != 1 || ed.RestartNeeded[0] != "Address" {
		t.Errorf("edit: %d %+v", w.Code, ed)
	}
	if w := f.call("PUT", "/api/tunnels/wg0/config", map[string]string{"config": "[Peer]\nPublicKey = nope\n"}, &e); w.Code != http.StatusUnprocessableEntity || e.Line != 2 {
		t.Errorf("bad edit: %d %+v", w.Code, e)
	}
	if w := f.call("PUT", "/api/tunnels/wg0/config", map[string]string{"config": edited + "[Interface]\nPostUp = reboot\n"}, &e); w.Code != http.StatusForbidden || e.Code != "hooks" {
		t.Errorf("hook edit: %d %+v", w.Code, e)
	}

	// Peer names, by standard or URL-safe base64.
	if w := f.call("POST", "/api/tunnels/wg0/peer-name", map[string]string{"publicKey": strings.NewReplacer("+", "-", "/", "_").Replace(alice.String()), "name": "bob"}, nil); w.Code != http.StatusNoContent {
		t.Errorf("rename: %d %s", w.Code, w.Body.String())
	}
	var tn tunnelJSON
	f.call("GET", "/api/tunnels/wg0", nil, &tn)
	if tn.Peers[0].Name != "bob" {
		t.Errorf("name after rename: %q", tn.Peers[0].Name)
	}
	if w := f.call("POST", "/api/tunnels/wg0/peer-name", map[string]string{"publicKey": alice.String(), "name": "a\nb"}, &e); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("bad name: %d %+v", w.Code, e)
	}

	// A failed activation brings the tool's output along.
	f.call("POST", "/api/tunnels/wg0/deactivate", nil, nil)
	f.sys.UpErr = errFake("exit status 1")
	w = f.call("POST", "/api/tunnels/wg0/activate", nil, &act)
	if w.Code != http.StatusBadGateway || act.Code != "activate" || !strings.Contains(act.Output, "[#]") {
		t.Errorf("failed activate: %d %+v", w.Code, act)
	}
	f.sys.UpErr = nil

	if w := f.call("DELETE", "/api/tunnels/wg0", nil, nil); w.Code != http.StatusOK {
		t.Errorf("delete: %d", w.Code)
	}
	if w := f.call("GET", "/api/tunnels/wg0", nil, &e); w.Code != http.StatusNotFound || e.Code != "not-found" {
		t.Errorf("after delete: %d %+v", w.Code, e)
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }

func TestAssets(t *testing.T) {
	f := newFixture(t, nil)
	for path, want := range map[string]int{
		"/assets/app.js":            http.StatusOK,
		"/assets/chart.js":          http.StatusOK,
		"/assets/style.css":         http.StatusOK,
		"/assets/":                  http.StatusNotFound,
		"/assets/../cmd.go":         http.StatusNotFound,
		"/assets/..%2fcmd.go":       http.StatusNotFound,
		"/assets/assets":            http.StatusNotFound,
		"/assets/layout.html":       http.StatusNotFound,
		"/assets/%2e%2e/webui.test": http.StatusNotFound,
	} {
		w := f.do(f.req("GET", path, nil))
		if w.Code != want && !(want == http.StatusNotFound && w.Code/100 == 3) {
			t.Errorf("GET %s: %d, want %d", path, w.Code, want)
		}
	}
	if ct := f.do(f.req("GET", "/assets/app.js", nil)).Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("app.js content type %q", ct)
	}
}

// The statistics stream sends a snapshot of the devices at least every
// sampler period, without keys.
func TestEventsStream(t *testing.T) {
	f := newFixture(t, nil)
	f.login()
	conf, alice := tunnelConfig(t, "alice")
	f.m.Import("wg0", []byte(conf))
	f.m.Activate(t.Context(), "wg0")
	srv := httptest.NewServer(f.s.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events", nil)
	req.Host = testHost
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: f.cookie})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() statsJSON {
		t.Helper()
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				var s statsJSON
				if err := json.Unmarshal([]byte(data), &s); err != nil {
					t.Fatal(err)
				}
				return s
			}
		}
		t.Fatalf("stream ended: %v", lines.Err())
		return statsJSON{}
	}
	// The stream starts with the latest snapshot (the sampler's first,
	// which may come at any moment): read on to the one taken here.
	for i, rx := range []uint64{100, 250} {
		f.sys.SetStats("wg0", alice, rx, rx*2, time.Unix(1700000000, 0))
		f.m.Sampler().SampleNow()
		var p peerStatsJSON
		for range 5 {
			ifc := next().Interfaces["wg0"]
			if ifc != nil && len(ifc.Peers) == 1 && ifc.Peers[0].RxBytes == rx {
				p = ifc.Peers[0]
				break
			}
		}
		if p.Name != "alice" || p.RxBytes != rx || p.TxBytes != rx*2 || p.LatestHandshake != 1700000000 {
			t.Errorf("sample %d: %+v", i, p)
		}
	}
	// Logging out ends the stream at the next heartbeat.
	f.call("POST", "/api/logout", nil, nil)
	done := make(chan struct{})
	go func() {
		for lines.Scan() {
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("the stream outlived its session")
	}
}

func TestLogStream(t *testing.T) {
	f := newFixture(t, nil)
	f.login()
	if w := f.call("GET", "/api/tunnels/wg0/log", nil, nil); w.Code != http.StatusNotFound {
		t.Errorf("missing log: %d", w.Code)
	}
	f.sys.Log("wg0", "Device started", "<b>not html</b>")
	srv := httptest.NewServer(f.s.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/tunnels/wg0/log", nil)
	req.Host = testHost
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: f.cookie})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var got []string
	for len(got) < 3 && sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var l logLineJSON
			json.Unmarshal([]byte(data), &l)
			got = append(got, l.Tag+" "+l.Text)
			if len(got) == 2 {
				f.sys.Log("wg0", "Received handshake response")
			}
		}
	}
	want := []string{"TUN Device started", "TUN <b>not html</b>", "TUN Received handshake response"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("log lines %q, want %q", got, want)
	}
}

func TestHistoryAPI(t *testing.T) {
	f := newFixtureWith(t, func(o *manager.Options) { o.History = true }, nil)
	f.login()
	conf, alice := tunnelConfig(t, "alice")
	f.m.Import("wg0", []byte(conf))
	f.m.Activate(t.Context(), "wg0")
	for _, rx := range []uint64{1000, 5000, 9000} {
		f.sys.SetStats("wg0", alice, rx, rx/2, time.Time{})
		f.m.Sampler().SampleNow()
		f.clock.add(10 * time.Second)
	}
	// The recorder runs on its own: wait until the last full bucket is in.
	var h historyJSON
	deadline := time.Now().Add(5 * time.Second)
	for {
		if w := f.call("GET", "/api/tunnels/wg0/history?range=hour&peer="+url.QueryEscape(alice.String()), nil, &h); w.Code != http.StatusOK {
			t.Fatalf("history: %d %s", w.Code, w.Body.String())
		}
		if h.RxBytes >= 4000 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if h.Range != "hour" || h.Resolution != 10 || len(h.Points) == 0 || h.RxBytes < 4000 {
		t.Errorf("history: range %q, resolution %d, %d points, %d bytes", h.Range, h.Resolution, len(h.Points), h.RxBytes)
	}
	var e apiError
	if w := f.call("GET", "/api/tunnels/wg0/history?range=year", nil, &e); w.Code != http.StatusBadRequest {
		t.Errorf("bad range: %d", w.Code)
	}
	g := newFixture(t, nil)
	g.login()
	if w := g.call("GET", "/api/tunnels/wg0/history", nil, &e); w.Code != http.StatusNotFound || e.Code != "no-history" {
		t.Errorf("without history: %d %+v", w.Code, e)
	}
}
