package webui

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/warren-vpn/warren/internal/manager"
)

// attempt takes a login attempt for the request's source from the rate
// limiter and a slot for one argon2id hash; it answers 429 and returns
// false when the source or everyone is over the limit.
func (s *Server) attempt(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	if ok, retry := s.limiter.allow(source(r)); !ok {
		secs := int(math.Ceil(retry.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many attempts; try again in %d s", max(secs, 1)), "rate-limited")
		s.m.Logf(manager.LogTagAuth, "login attempt from %s refused: rate limit", source(r))
		return nil, false
	}
	select {
	case s.argon <- struct{}{}:
	case <-r.Context().Done():
		return nil, false
	}
	return func() { <-s.argon }, true
}

func (s *Server) apiSetup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	release, ok := s.attempt(w, r)
	if !ok {
		return
	}
	defer release()
	if err := s.m.Accounts().CompleteSetup(req.Token, req.Password); err != nil {
		if errors.Is(err, manager.ErrSetup) {
			s.m.Logf(manager.LogTagAuth, "setup from %s refused: wrong or used link", source(r))
		}
		writeManagerError(w, err)
		return
	}
	s.limiter.success(source(r))
	s.m.RemoveSetupLink()
	s.m.Logf(manager.LogTagAuth, "administrator password set from %s", source(r))
	setSessionCookie(w, s.sessions.create(roleAdmin, ""))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		// User names an operator (roles.go); empty, the administrator.
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	release, ok := s.attempt(w, r)
	if !ok {
		return
	}
	defer release()
	if req.User != "" {
		s.operatorLogin(w, r, req.User, req.Password)
		return
	}
	if !s.m.Accounts().CheckPassword(req.Password) {
		s.m.Logf(manager.LogTagAuth, "failed login from %s", source(r))
		writeError(w, http.StatusUnauthorized, "wrong password", "password")
		return
	}
	s.limiter.success(source(r))
	s.m.Logf(manager.LogTagAuth, "login from %s", source(r))
	setSessionCookie(w, s.sessions.create(roleAdmin, ""))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		s.sessions.end(c.Value)
	}
	clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiPassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	release, ok := s.attempt(w, r)
	if !ok {
		return
	}
	defer release()
	if err := s.m.Accounts().ChangePassword(req.Current, req.New); err != nil {
		writeManagerError(w, err)
		return
	}
	s.limiter.success(source(r))
	// Whoever else had a session had the old password.
	s.sessions.endAllBut(principalOf(r).session)
	s.audit(r, "changed the password")
	w.WriteHeader(http.StatusNoContent)
}

type tokenJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Created  int64  `json:"created"`
	LastUsed int64  `json:"lastUsed"`
	// Token is the secret, only in the answer to its creation.
	Token string `json:"token,omitempty"`
}

func (s *Server) apiTokens(w http.ResponseWriter, r *http.Request) {
	out := []tokenJSON{}
	for _, t := range s.m.Accounts().Tokens() {
		out = append(out, tokenJSON{ID: t.ID, Name: t.Name, Created: unix(t.Created), LastUsed: unix(t.LastUsed)})
	}
	writeJSON(w, http.StatusOK, struct {
		Tokens []tokenJSON `json:"tokens"`
	}{out})
}

func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	secret, t, err := s.m.Accounts().CreateToken(req.Name)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "bad-request")
		return
	}
	s.audit(r, "created API token %s (%s)", t.ID, t.Name)
	writeJSON(w, http.StatusCreated, tokenJSON{ID: t.ID, Name: t.Name, Created: unix(t.Created), Token: secret})
}

func (s *Server) apiRevokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.m.Accounts().RevokeToken(id); err != nil {
		writeManagerError(w, err)
		return
	}
	s.audit(r, "revoked API token %s", id)
	w.WriteHeader(http.StatusNoContent)
}
