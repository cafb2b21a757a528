package webui

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// contentSecurityPolicy allows this origin's scripts, styles, images and
// connections (fetch, EventSource) and nothing else: no inline script or
// style, no other origin, no framing, no form posted elsewhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the headers every response carries. Everything is
// no-store (pages show keys, the API returns configurations) except the
// static assets, which their handler marks cacheable.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		h.Set("Cache-Control", "no-store")
		if s.opts.TLS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed reports whether host (a Host header, with or without port)
// names this server: "localhost", a loopback address, the listen address,
// any address when listening on all of them (an IP literal cannot be
// rebound by DNS), or one of the extra names.
func (s *Server) hostAllowed(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		listen := s.opts.Listen.Addr().Unmap()
		return a.IsLoopback() || a == listen || listen.IsUnspecified()
	}
	for _, h := range s.opts.Hosts {
		if strings.EqualFold(strings.TrimSuffix(h, "."), host) {
			return true
		}
	}
	return false
}

// checkHost refuses requests whose Host header names another server: a
// page on a name the attacker made resolve to this machine (DNS
// rebinding) must not reach the UI as same-origin.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, "unknown host: this manager answers to localhost, its own addresses and the names given with --host", "host")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkCrossOrigin refuses state-changing requests from other origins
// (Go's CrossOriginProtection: Sec-Fetch-Site, else Origin against Host).
func (s *Server) checkCrossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "cross-origin request refused", "cross-origin")
	}))
	return cop.Handler(next)
}

// safeMethod reports whether m changes nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// requireJSON refuses a state-changing request whose body is not JSON: a
// form another site posts cannot be JSON without a CORS preflight, which
// this server never grants.
func requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !safeMethod(r.Method) && r.ContentLength != 0 {
			ct := r.Header.Get("Content-Type")
			if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
				writeError(w, http.StatusUnsupportedMediaType, "send JSON (Content-Type: application/json)", "content-type")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
