package webui

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/warren-vpn/warren/internal/manager"
)

// principal is who a request acts as.
type principal struct {
	// session is the session's secret, "" for an API token.
	session string
	// token is the API token used, if any.
	token *manager.APIToken
	// role is what it may do (roles.go); account is the operator's name.
	role    role
	account string
}

func (p *principal) String() string {
	if p.token != nil {
		return "API token " + p.token.ID + " (" + p.token.Name + ")"
	}
	if p.role == roleOperator {
		return "operator " + p.account + "'s session"
	}
	return "the administrator's session"
}

type principalKey struct{}

func principalOf(r *http.Request) *principal {
	p, _ := r.Context().Value(principalKey{}).(*principal)
	return p
}

// authenticate finds the session or API token a request carries. An
// Authorization header is decisive: a bad token is refused even if a
// session cookie comes along.
func (s *Server) authenticate(r *http.Request) (*principal, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, false
		}
		tok, ok := s.m.Accounts().CheckToken(strings.TrimSpace(secret))
		if !ok {
			return nil, false
		}
		return &principal{token: &tok}, true
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, false
	}
	sess, ok := s.sessions.lookup(c.Value)
	if !ok {
		return nil, false
	}
	return &principal{session: c.Value, role: sess.role, account: sess.account}, true
}

// apiAuth lets through the administrator's requests (a session or an API
// token), answers others 401, and an operator's 403 (operatorAPI admits
// operators too).
func (s *Server) apiAuth(next http.HandlerFunc) http.Handler {
	return s.authAPI(false, next)
}

// sessionOnly is apiAuth for what an API token may not do: manage tokens,
// operators and the password.
func (s *Server) sessionOnly(next http.HandlerFunc) http.Handler {
	return s.apiAuth(func(w http.ResponseWriter, r *http.Request) {
		if principalOf(r).session == "" {
			writeError(w, http.StatusForbidden, "API tokens and the password are managed from a logged-in session only", "session-only")
			return
		}
		next(w, r)
	})
}

// pageAuth sends browsers without a session to the login page, and
// shows an operator that the page is the administrator's (operatorPage
// admits operators too).
func (s *Server) pageAuth(next http.HandlerFunc) http.Handler {
	return s.authPage(false, next)
}

// source is the request's peer address (never a forwarded header: the
// manager is not behind a proxy it could trust).
func source(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}
