package webui

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/noise"
)

// Two roles use the UI. The administrator (the password set through the
// setup link, and the API tokens the administrator makes) may do
// everything. An operator (manager.Operator, an account the administrator
// makes; on Windows for a member of Network Configuration Operators) may
// see the tunnels and activate and deactivate them, and never sees a key:
// no configuration text, no export, no import, edit or delete, no peer
// names to change, no API tokens, no clients or their configurations, no
// manager log; public keys are replaced by opaque peer IDs.
//
// The role is enforced where requests are routed: apiAuth, sessionOnly
// and pageAuth admit the administrator alone, so a route is the
// administrator's unless it is registered with operatorAPI or
// operatorPage, and what those routes answer is redacted for operators
// (redactFor). Buttons hidden in the pages are a convenience, not the
// control.

// role is what a principal may do.
type role int

const (
	roleAdmin role = iota
	roleOperator
)

func (r role) String() string {
	if r == roleOperator {
		return "operator"
	}
	return "administrator"
}

// isOperator reports whether the request acts as an operator.
func isOperator(r *http.Request) bool {
	p := principalOf(r)
	return p != nil && p.role == roleOperator
}

// adminOnly answers an operator's request for the administrator's routes.
func adminOnly(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, "only the administrator may do this; operators see the tunnels and activate and deactivate them", "admin-only")
}

// operatorAPI is apiAuth for the routes operators may use too.
func (s *Server) operatorAPI(next http.HandlerFunc) http.Handler {
	return s.authAPI(true, next)
}

// operatorPage is pageAuth for the pages operators may see too.
func (s *Server) operatorPage(next http.HandlerFunc) http.Handler {
	return s.authPage(true, next)
}

// authAPI lets through requests with a session or an API token, of an
// operator only if operators are allowed, and answers others 401 (no or
// a bad credential) or 403 (an operator).
func (s *Server) authAPI(operators bool, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="warren"`)
			writeError(w, http.StatusUnauthorized, "log in, or send an API token as Authorization: Bearer", "unauthorized")
			return
		}
		if p.role == roleOperator && !operators {
			adminOnly(w)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// authPage sends browsers without a session to the login page, and shows
// an operator who opens one of the administrator's pages why not.
func (s *Server) authPage(operators bool, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(SessionCookie)
		if err != nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		sess, ok := s.sessions.lookup(c.Value)
		if !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		p := &principal{session: c.Value, role: sess.role, account: sess.account}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		if p.role == roleOperator && !operators {
			s.render(w, r, http.StatusForbidden, "error", page{Title: http.StatusText(http.StatusForbidden),
				Data: "This page is the administrator's. As an operator you see the tunnels and activate and deactivate them."})
			return
		}
		next(w, r)
	})
}

// peerID is what the UI calls a peer: its public key for the
// administrator, for an operator an opaque ID (an HMAC of the tunnel and
// key under a secret of this server's run) that tells peers apart without
// showing their keys.
func (s *Server) peerID(r *http.Request, tunnel string, pub noise.PublicKey) string {
	if !isOperator(r) {
		return pub.String()
	}
	mac := hmac.New(sha256.New, s.peerSecret[:])
	mac.Write([]byte(tunnel))
	mac.Write([]byte{0})
	mac.Write(pub[:])
	return "peer-" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:12])
}

// tunnelJSONFor is t's JSON for the request's principal: for an operator
// without public keys (peers keep an opaque id).
func (s *Server) tunnelJSONFor(r *http.Request, t *manager.Tunnel) tunnelJSON {
	tj := toTunnelJSON(t)
	if !isOperator(r) {
		return tj
	}
	tj.PublicKey = ""
	for i := range tj.Peers {
		tj.Peers[i].ID = s.peerID(r, t.Name, t.Peers[i].PublicKey)
		tj.Peers[i].PublicKey = ""
	}
	return tj
}

// statsJSONFor does the same for a "stats" event.
func (s *Server) statsJSONFor(r *http.Request, snap *manager.Snapshot) statsJSON {
	sj := toStatsJSON(snap)
	if !isOperator(r) {
		return sj
	}
	for name, ij := range sj.Interfaces {
		if ij == nil {
			continue
		}
		ij.PublicKey = ""
		d := snap.Devices[name]
		for i := range ij.Peers {
			ij.Peers[i].ID = s.peerID(r, name, d.Peers[i].PublicKey)
			ij.Peers[i].PublicKey = ""
		}
	}
	return sj
}

// The administrator's management of operator accounts (session only).

type operatorJSON struct {
	Name    string `json:"name"`
	Created int64  `json:"created"`
}

func (s *Server) apiOperators(w http.ResponseWriter, r *http.Request) {
	out := []operatorJSON{}
	for _, o := range s.m.Accounts().Operators() {
		out = append(out, operatorJSON{Name: o.Name, Created: unix(o.Created)})
	}
	writeJSON(w, http.StatusOK, struct {
		Operators []operatorJSON `json:"operators"`
	}{out})
}

func (s *Server) apiCreateOperator(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	op, err := s.m.CreateOperator(req.Name, req.Password)
	if err != nil {
		writeOperatorError(w, err)
		return
	}
	s.audit(r, "created operator %s", op.Name)
	writeJSON(w, http.StatusCreated, operatorJSON{Name: op.Name, Created: unix(op.Created)})
}

func (s *Server) apiResetOperator(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Password string `json:"password"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	name := r.PathValue("name")
	if err := s.m.Accounts().SetOperatorPassword(name, req.Password); err != nil {
		writeOperatorError(w, err)
		return
	}
	// Whoever had the old password is logged out.
	s.sessions.endAccount(name)
	s.audit(r, "set a new password for operator %s", name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiDeleteOperator(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.m.Accounts().DeleteOperator(name); err != nil {
		writeOperatorError(w, err)
		return
	}
	s.sessions.endAccount(name)
	s.audit(r, "deleted operator %s", name)
	w.WriteHeader(http.StatusNoContent)
}

func writeOperatorError(w http.ResponseWriter, err error) {
	if errors.Is(err, manager.ErrOperator) {
		writeError(w, http.StatusBadRequest, err.Error(), "operator")
		return
	}
	writeManagerError(w, err)
}

// operatorLogin logs an operator in (apiLogin with a user): the same
// answer for a wrong name and a wrong password.
func (s *Server) operatorLogin(w http.ResponseWriter, r *http.Request, user, password string) {
	user = strings.TrimSpace(user)
	op, err := s.m.OperatorLogin(user, password)
	switch {
	case errors.Is(err, manager.ErrPassword):
		s.m.Logf(manager.LogTagAuth, "failed operator login from %s", source(r))
		writeError(w, http.StatusUnauthorized, "wrong user or password", "password")
		return
	case err != nil:
		s.m.Logf(manager.LogTagAuth, "operator %s refused from %s: %v", user, source(r), err)
		writeError(w, http.StatusForbidden, err.Error(), "operator")
		return
	}
	s.limiter.success(source(r))
	s.m.Logf(manager.LogTagAuth, "operator %s logged in from %s", op.Name, source(r))
	setSessionCookie(w, s.sessions.create(roleOperator, op.Name))
	w.WriteHeader(http.StatusNoContent)
}
