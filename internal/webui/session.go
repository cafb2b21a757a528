package webui

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"
)

// SessionCookie is the session cookie's name. The __Host- prefix makes
// browsers accept it only with Secure, Path=/ and no Domain, so no other
// host or path can set or shadow it. Browsers treat http://127.0.0.1,
// http://[::1] and http://localhost as secure contexts and keep a Secure
// cookie there (checked with Chromium 156), so the cookie is Secure on
// plain HTTP on loopback too; on any other plain-HTTP name a browser
// drops it, and logging in does not work: use TLS or a loopback name.
const SessionCookie = "__Host-warren-session"

// Default session lifetimes.
const (
	DefaultSessionIdle = time.Hour
	DefaultSessionMax  = 12 * time.Hour
	maxSessions        = 64
)

type session struct {
	created, seen time.Time
	role          role
	// account is the operator's name ("" for the administrator).
	account string
}

// sessions holds the logged-in sessions, keyed by the SHA-256 of their
// secret: the table (a memory dump, a debugger) does not hold what the
// browser presents.
type sessions struct {
	now       func() time.Time
	idle, max time.Duration
	mu        sync.Mutex
	m         map[[32]byte]*session
}

func newSessions(now func() time.Time, idle, maxAge time.Duration) *sessions {
	return &sessions{now: now, idle: idle, max: maxAge, m: map[[32]byte]*session{}}
}

// create starts a session of role (an operator's: of account) and
// returns its secret (256 random bits).
func (s *sessions) create(r role, account string) string {
	b := make([]byte, 32)
	rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if len(s.m) >= maxSessions {
		// Forget the least recently seen.
		var oldest [32]byte
		var at time.Time
		for k, v := range s.m {
			if at.IsZero() || v.seen.Before(at) {
				oldest, at = k, v.seen
			}
		}
		delete(s.m, oldest)
	}
	s.m[sha256.Sum256([]byte(secret))] = &session{created: now, seen: now, role: r, account: account}
	return secret
}

// lookup returns the live session of secret (a copy), and marks it seen.
func (s *sessions) lookup(secret string) (session, bool) {
	if secret == "" || len(secret) > 100 {
		return session{}, false
	}
	key := sha256.Sum256([]byte(secret))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m[key]
	if v == nil {
		return session{}, false
	}
	if s.expired(v, now) {
		delete(s.m, key)
		return session{}, false
	}
	v.seen = now
	return *v, true
}

// alive reports whether secret is still a live session without marking
// it seen (for long-lived streams, which must not keep a session alive).
func (s *sessions) alive(secret string) bool {
	key := sha256.Sum256([]byte(secret))
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m[key]
	return v != nil && !s.expired(v, s.now())
}

func (s *sessions) expired(v *session, now time.Time) bool {
	return now.Sub(v.seen) > s.idle || now.Sub(v.created) > s.max
}

// end ends one session.
func (s *sessions) end(secret string) {
	key := sha256.Sum256([]byte(secret))
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

// endAllBut ends every session except keep's (after a password change).
func (s *sessions) endAllBut(keep string) {
	key := sha256.Sum256([]byte(keep))
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.m {
		if k != key {
			delete(s.m, k)
		}
	}
}

// endAccount ends every session of operator account (deleted, or given a
// new password).
func (s *sessions) endAccount(account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		if v.role == roleOperator && strings.EqualFold(v.account, account) {
			delete(s.m, k)
		}
	}
}

func (s *sessions) sweep(now time.Time) {
	for k, v := range s.m {
		if s.expired(v, now) {
			delete(s.m, k)
		}
	}
}

// setSessionCookie gives the browser its session. The cookie is a session
// cookie (no Max-Age): the server decides when it ends.
func setSessionCookie(w http.ResponseWriter, secret string) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: secret, Path: "/",
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
}
