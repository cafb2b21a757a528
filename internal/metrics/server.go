package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultReadyWithin is how recent the source's last answer must be for
// /readyz to answer 200 without asking it again.
const DefaultReadyWithin = 30 * time.Second

// Options configure a Server.
type Options struct {
	// Addr is where the server listens (host:port); it decides the bind
	// policy (see CheckBind).
	Addr string
	// TokenFile holds the bearer token /metrics demands. Required unless
	// Addr is loopback; when given, it is demanded on loopback too.
	TokenFile string
	// ScrapeTimeout bounds one snapshot (DefaultScrapeTimeout if 0).
	ScrapeTimeout time.Duration
	// ReadyWithin: see DefaultReadyWithin (used if 0).
	ReadyWithin time.Duration
	// Logf receives scrape errors; nil discards them.
	Logf func(format string, args ...any)
}

// Server is the metrics endpoint, an http.Handler:
//
//	GET /metrics  the exposition (bearer token when configured)
//	GET /healthz  200 "ok" while the process serves
//	GET /readyz   200 when the source answered within ReadyWithin, else 503
//
// /healthz and /readyz need no token (probes rarely carry one) and say
// nothing but ok or not.
type Server struct {
	opts      Options
	collector *Collector
	handler   http.Handler
	auth      *bearer
}

// New checks the bind policy, reads the token file and builds the
// registry: the WireGuard collector over src, the Go runtime collector and
// the process collector.
func New(src Source, opts Options) (*Server, error) {
	if src == nil {
		return nil, errors.New("metrics: no source")
	}
	if err := CheckBind(opts.Addr, opts.TokenFile); err != nil {
		return nil, err
	}
	if opts.ReadyWithin <= 0 {
		opts.ReadyWithin = DefaultReadyWithin
	}
	s := &Server{opts: opts, collector: NewCollector(src, opts.ScrapeTimeout)}
	if opts.TokenFile != "" {
		tok, err := readToken(opts.TokenFile)
		if err != nil {
			return nil, err
		}
		s.auth = newBearer(tok)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("metrics: register Go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("metrics: register process collector: %w", err)
	}
	if err := reg.Register(s.collector); err != nil {
		return nil, fmt.Errorf("metrics: register WireGuard collector: %w", err)
	}
	var metrics http.Handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      printlnFunc(opts.Logf),
		ErrorHandling: promhttp.HTTPErrorOnError,
	})
	if s.auth != nil {
		metrics = s.auth.wrap(metrics)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	s.handler = mux
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Collector is the server's WireGuard collector.
func (s *Server) Collector() *Collector { return s.collector }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.collector.ready(r.Context(), s.opts.ReadyWithin); err != nil {
		if s.opts.Logf != nil {
			s.opts.Logf("metrics: not ready: %v", err)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready: the WireGuard devices could not be read")
		return
	}
	fmt.Fprintln(w, "ok")
}

// ListenAndServe listens on Options.Addr and serves until ctx is done,
// then shuts down (waiting up to 5 s for scrapes in flight) and returns
// nil. Without a token, it refuses a listener that did not bind loopback
// (a "localhost" that resolved elsewhere).
func (s *Server) ListenAndServe(ctx context.Context) error {
	l, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("metrics: listen: %w", err)
	}
	return s.Serve(ctx, l)
}

// Serve is ListenAndServe on a listener the caller made; it closes l.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if s.auth == nil {
		ap, err := netip.ParseAddrPort(l.Addr().String())
		if err != nil || !ap.Addr().Unmap().IsLoopback() {
			l.Close()
			return fmt.Errorf("%w (listening on %s)", ErrTokenRequired, l.Addr())
		}
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.collector.timeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("metrics: serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdown)
	<-done
	if err != nil {
		return fmt.Errorf("metrics: shut down: %w", err)
	}
	return nil
}

// printlnFunc adapts a printf-style logger to promhttp's Println logger.
type printlnFunc func(format string, args ...any)

func (f printlnFunc) Println(v ...any) {
	if f != nil {
		f("metrics: %s", fmt.Sprint(v...))
	}
}
