package webui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/noise"
)

//go:embed templates
var templateFS embed.FS

// pages are the page templates, each parsed with the layout.
var pages = parsePages()

var funcs = template.FuncMap{
	"bytes":  formatBytes,
	"prefix": conf.FormatPrefix,
	"unix":   unix,
	"join":   strings.Join,
	"path":   url.PathEscape,
}

func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" {
			continue
		}
		t := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
		out[strings.TrimSuffix(base, ".html")] = t
	}
	return out
}

// formatBytes is a byte count for people: 1.5 MiB.
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// page is what every page template gets.
type page struct {
	Title    string
	Nav      string // which menu entry is current
	LoggedIn bool
	// Operator: the limited view (roles.go); Account is the operator's
	// name.
	Operator bool
	Account  string
	Data     any
}

// render executes a page into a buffer first, so that a template error
// becomes a 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.LoggedIn = principalOf(r) != nil
	if pr := principalOf(r); pr != nil && pr.role == roleOperator {
		p.Operator, p.Account = true, pr.account
	}
	var buf bytes.Buffer
	if err := pages[name].Execute(&buf, p); err != nil {
		http.Error(w, "template: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	buf.WriteTo(w)
}

func (s *Server) pageTunnels(w http.ResponseWriter, r *http.Request) {
	ts, err := s.m.Tunnels()
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	ws, _ := s.m.Warnings()
	if isOperator(r) {
		for i := range ts {
			ts[i].PublicKey = noise.PublicKey{}
		}
	}
	s.render(w, r, http.StatusOK, "tunnels", page{Title: "Tunnels", Nav: "tunnels", Data: struct {
		Tunnels  []manager.Tunnel
		Warnings []manager.Warning
	}{ts, ws}})
}

// peerView is a peer with what the page shows precomputed: Key is ""
// for an operator, ID tells peers apart (roles.go).
type peerView struct {
	manager.Peer
	Key, ID string
}

func (s *Server) pageTunnel(w http.ResponseWriter, r *http.Request) {
	t, err := s.m.Tunnel(r.PathValue("name"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	ws, _ := s.m.WarningsFor(t.Name)
	var peers []peerView
	for _, p := range t.Peers {
		v := peerView{Peer: p, Key: p.PublicKey.String(), ID: s.peerID(r, t.Name, p.PublicKey)}
		if isOperator(r) {
			v.Key, v.PublicKey = "", noise.PublicKey{}
		}
		peers = append(peers, v)
	}
	pub := ""
	if !t.PublicKey.IsZero() && !isOperator(r) {
		pub = t.PublicKey.String()
	}
	s.render(w, r, http.StatusOK, "tunnel", page{Title: t.Name, Nav: "tunnels", Data: struct {
		T         *manager.Tunnel
		PublicKey string
		Peers     []peerView
		Warnings  []manager.Warning
		Now       time.Time
	}{t, pub, peers, ws, s.now()}})
}

func (s *Server) pageEdit(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	data, err := s.m.Config(name)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	defer clear(data)
	s.render(w, r, http.StatusOK, "edit", page{Title: "Edit " + name, Nav: "tunnels", Data: struct {
		Name, Config string
	}{name, string(data)}})
}

func (s *Server) pageImport(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "import", page{Title: "Import a tunnel", Nav: "import"})
}

func (s *Server) pageTunnelLog(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := manager.ValidName(name); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "log", page{Title: "Log of " + name, Nav: "log", Data: struct {
		Tunnel, Source string
	}{name, "/api/tunnels/" + name + "/log"}})
}

func (s *Server) pageLog(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "log", page{Title: "Manager log", Nav: "log", Data: struct {
		Tunnel, Source string
	}{"", "/api/log"}})
}

func (s *Server) pageSettings(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "settings", page{Title: "Settings", Nav: "settings", Data: struct {
		Tokens    []manager.APIToken
		Operators []manager.Operator
		MinLength int
	}{s.m.Accounts().Tokens(), s.m.Accounts().Operators(), manager.MinPasswordLen}})
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) {
	if p, ok := s.authenticate(r); ok && p.session != "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", page{Title: "Log in", Data: struct {
		NeedsSetup bool
	}{s.m.Accounts().NeedsSetup()}})
}

// pageSetup shows the form that sets the password, for the holder of the
// setup link only.
func (s *Server) pageSetup(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if !s.m.Accounts().CheckSetupSecret(token) {
		s.render(w, r, http.StatusForbidden, "setup", page{Title: "Setup", Data: struct {
			Valid     bool
			Token     string
			MinLength int
		}{false, "", manager.MinPasswordLen}})
		return
	}
	s.render(w, r, http.StatusOK, "setup", page{Title: "Setup", Data: struct {
		Valid     bool
		Token     string
		MinLength int
	}{true, token, manager.MinPasswordLen}})
}

// pageError shows an error as a page with the status the API would give.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	rec := &statusRecorder{header: http.Header{}}
	writeManagerError(rec, err)
	s.render(w, r, rec.status, "error", page{Title: http.StatusText(rec.status), Data: err.Error()})
}

// statusRecorder captures the status writeManagerError picks.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(status int)      { s.status = status }
