package webui

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/warren-vpn/warren/internal/manager"
)

// Options configure a Server.
type Options struct {
	// Manager is what the UI shows and changes.
	Manager *manager.Manager
	// Listen is the address the server listens on (for the Host check).
	Listen netip.AddrPort
	// TLS says the server is reached over HTTPS (HSTS is sent).
	TLS bool
	// Hosts are extra host names the server answers to (--host).
	Hosts []string
	// SessionIdle and SessionMax bound a session's life (defaults
	// DefaultSessionIdle, DefaultSessionMax).
	SessionIdle, SessionMax time.Duration
	// MaxStreams bounds concurrent event streams (default 32).
	MaxStreams int
	// Heartbeat is how often an idle event stream gets a comment, and a
	// stream's session is checked (default 15 s).
	Heartbeat time.Duration
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Server is the web UI and API. Handler returns its http.Handler.
type Server struct {
	opts     Options
	m        *manager.Manager
	now      func() time.Time
	sessions *sessions
	limiter  *limiter
	argon    chan struct{} // bounds concurrent password checks
	streams  atomic.Int32
	handler  http.Handler
	links    *oneTimeLinks // clients' one-time links (clients.go)
	// peerSecret keys the opaque peer IDs operators see (roles.go).
	peerSecret [32]byte
}

// New makes a Server.
func New(opts Options) (*Server, error) {
	if opts.Manager == nil {
		return nil, errors.New("webui: no manager")
	}
	if !opts.Listen.IsValid() {
		return nil, errors.New("webui: no listen address")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = DefaultSessionIdle
	}
	if opts.SessionMax <= 0 {
		opts.SessionMax = DefaultSessionMax
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = 32
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	s := &Server{
		opts:     opts,
		m:        opts.Manager,
		now:      now,
		sessions: newSessions(now, opts.SessionIdle, opts.SessionMax),
		limiter:  newLimiter(now),
		argon:    make(chan struct{}, 2),
		links:    newOneTimeLinks(now),
	}
	rand.Read(s.peerSecret[:])
	s.handler = s.securityHeaders(s.checkHost(s.checkCrossOrigin(requireJSON(s.routes()))))
	return s, nil
}

// Handler is the server's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	// Pages.
	// operatorPage and operatorAPI mark what operators may use too
	// (roles.go); everything else is the administrator's.
	mux.Handle("GET /{$}", s.operatorPage(s.pageTunnels))
	mux.Handle("GET /import", s.pageAuth(s.pageImport))
	mux.Handle("GET /tunnels/{name}", s.operatorPage(s.pageTunnel))
	mux.Handle("GET /tunnels/{name}/edit", s.pageAuth(s.pageEdit))
	mux.Handle("GET /tunnels/{name}/log", s.operatorPage(s.pageTunnelLog))
	mux.Handle("GET /log", s.pageAuth(s.pageLog))
	mux.Handle("GET /settings", s.pageAuth(s.pageSettings))
	mux.HandleFunc("GET /login", s.pageLogin)
	mux.HandleFunc("GET /setup", s.pageSetup)
	mux.HandleFunc("GET /assets/{file}", serveAsset)

	// Logging in.
	mux.HandleFunc("POST /api/setup", s.apiSetup)
	mux.HandleFunc("POST /api/login", s.apiLogin)
	mux.HandleFunc("POST /api/logout", s.apiLogout)
	mux.Handle("POST /api/password", s.sessionOnly(s.apiPassword))
	mux.Handle("GET /api/tokens", s.sessionOnly(s.apiTokens))
	mux.Handle("POST /api/tokens", s.sessionOnly(s.apiCreateToken))
	mux.Handle("DELETE /api/tokens/{id}", s.sessionOnly(s.apiRevokeToken))
	mux.Handle("GET /api/operators", s.sessionOnly(s.apiOperators))
	mux.Handle("POST /api/operators", s.sessionOnly(s.apiCreateOperator))
	mux.Handle("PUT /api/operators/{name}/password", s.sessionOnly(s.apiResetOperator))
	mux.Handle("DELETE /api/operators/{name}", s.sessionOnly(s.apiDeleteOperator))

	// Tunnels.
	mux.Handle("GET /api/tunnels", s.operatorAPI(s.apiListTunnels))
	mux.Handle("POST /api/tunnels", s.apiAuth(s.apiImport))
	mux.Handle("GET /api/tunnels/{name}", s.operatorAPI(s.apiGetTunnel))
	mux.Handle("DELETE /api/tunnels/{name}", s.apiAuth(s.apiDelete))
	mux.Handle("GET /api/tunnels/{name}/config", s.apiAuth(s.apiGetConfig))
	mux.Handle("PUT /api/tunnels/{name}/config", s.apiAuth(s.apiPutConfig))
	mux.Handle("POST /api/tunnels/{name}/activate", s.operatorAPI(s.apiActivate))
	mux.Handle("POST /api/tunnels/{name}/deactivate", s.operatorAPI(s.apiDeactivate))
	mux.Handle("POST /api/tunnels/{name}/peer-name", s.apiAuth(s.apiPeerName))
	mux.Handle("GET /api/tunnels/{name}/log", s.operatorAPI(s.apiTunnelLog))
	mux.Handle("GET /api/tunnels/{name}/history", s.operatorAPI(s.apiHistory))
	mux.Handle("GET /api/log", s.apiAuth(s.apiLog))
	mux.Handle("GET /api/events", s.operatorAPI(s.apiEvents))
	s.clientRoutes(mux)
	return mux
}
