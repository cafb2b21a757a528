package proxy

import (
	"bufio"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"
)

// HTTPServer is an HTTP proxy over a Network: CONNECT tunnels and plain
// requests with an absolute URI. A connection that fails through the
// tunnel is answered 502 Bad Gateway with the reason (the peer's key and
// endpoint go to the log only). If Username is set,
// clients must send it and Password as Proxy-Authorization (Basic).
type HTTPServer struct {
	Net                Network
	Username, Password string
	// Logf receives one line per failed request; nil discards.
	Logf func(format string, args ...any)
	// Limiter caps the client connections held and sets the CONNECT
	// tunnels' idle timeout; nil gives the server its own with
	// DefaultLimits.
	Limiter *Limiter

	lim limiterRef

	once      sync.Once
	srv       *http.Server
	transport *http.Transport
	proxy     *httputil.ReverseProxy
	t         tracker // hijacked CONNECT tunnels
}

func (s *HTTPServer) init() {
	s.once.Do(func() {
		s.transport = &http.Transport{
			DialContext:           s.Net.DialContext,
			MaxIdleConns:          64,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
		}
		s.proxy = &httputil.ReverseProxy{
			// The request already names its target; only hop-by-hop
			// headers go (ReverseProxy drops them), nothing is added.
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.Out.Header.Del("Proxy-Authorization")
				pr.Out.Header.Del("Proxy-Connection")
			},
			Transport:     s.transport,
			FlushInterval: -1,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				s.logf("http %s: %s %s: %v", r.RemoteAddr, r.Method, r.URL, err)
				http.Error(w, "warren proxy: "+clientReason(err), http.StatusBadGateway)
			},
		}
		s.srv = &http.Server{
			Handler:           http.HandlerFunc(s.serveHTTP),
			ReadHeaderTimeout: handshakeTimeout,
			IdleTimeout:       2 * time.Minute,
		}
	})
}

func (s *HTTPServer) limiter() *Limiter { return s.lim.get(s.Limiter, s.Logf) }

func (s *HTTPServer) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// Serve accepts clients on l until Close.
func (s *HTTPServer) Serve(l net.Listener) error {
	s.init()
	err := s.srv.Serve(&limitListener{Listener: l, lim: s.limiter()})
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops serving and ends every connection, tunnels included.
func (s *HTTPServer) Close() error {
	s.init()
	err := s.srv.Close()
	s.t.close()
	s.transport.CloseIdleConnections()
	return err
}

func (s *HTTPServer) authorized(r *http.Request) bool {
	if s.Username == "" {
		return true
	}
	h := r.Header.Get("Proxy-Authorization")
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return false
	}
	user, pass, _ := strings.Cut(string(raw), ":")
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(s.Username))
	okPass := subtle.ConstantTimeCompare([]byte(pass), []byte(s.Password))
	return okUser&okPass == 1
}

func (s *HTTPServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="warren"`)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	switch {
	case r.Method == http.MethodConnect:
		s.connect(w, r)
	case r.URL.IsAbs() && r.URL.Host != "":
		if r.URL.Scheme != "http" {
			http.Error(w, "warren proxy: only http:// URLs can be proxied without CONNECT", http.StatusBadRequest)
			return
		}
		s.proxy.ServeHTTP(w, r)
	default:
		http.Error(w, "warren proxy: this is a proxy; send CONNECT or an absolute URI", http.StatusBadRequest)
	}
}

func (s *HTTPServer) connect(w http.ResponseWriter, r *http.Request) {
	target := r.Host
	if _, _, err := net.SplitHostPort(target); err != nil {
		http.Error(w, "warren proxy: CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	up, err := s.Net.DialContext(r.Context(), "tcp", target)
	if err != nil {
		s.logf("http %s: CONNECT: %s", r.RemoteAddr, dialFailure(target, err))
		http.Error(w, "warren proxy: "+clientReason(err), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "warren proxy: cannot hijack the connection", http.StatusInternalServerError)
		return
	}
	c, brw, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if !s.t.add(c) {
		up.Close()
		return
	}
	if !s.t.add(up) {
		s.t.remove(c)
		c.Close()
		return
	}
	s.t.goroutine(func() {
		defer s.t.remove(c)
		defer s.t.remove(up)
		c.SetDeadline(time.Time{})
		if _, err := fmt.Fprintf(brw, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			up.Close()
			c.Close()
			return
		}
		if err := brw.Flush(); err != nil {
			up.Close()
			c.Close()
			return
		}
		// Bytes the client sent behind its request are already buffered.
		if err := forwardBuffered(brw.Reader, up); err != nil {
			up.Close()
			c.Close()
			return
		}
		brw = nil // net/http's 8 KiB of buffers are not needed any more
		relay(c, up, s.limiter().limits.TCPIdle)
	})
}

func forwardBuffered(br *bufio.Reader, dst net.Conn) error {
	n := br.Buffered()
	if n == 0 {
		return nil
	}
	b, _ := br.Peek(n)
	_, err := dst.Write(b)
	return err
}
