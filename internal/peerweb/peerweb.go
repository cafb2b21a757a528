// Package peerweb is the web server that an in-process peer runs inside a
// tunnel for `warren demo` and `warren selftest`: a greeting at "/" (the
// client sees that it reached the peer, and from which address), and at
// "/bytes?n=N" the first N bytes of a fixed pseudo-random stream, which the
// client checks against its own NewStream, so that neither side stores the
// transfer.
//
// It listens through whatever gives it TCP listeners inside the tunnel (the
// userspace stack of internal/netstack) and imports only the standard
// library.
package peerweb

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// Port is the port Serve listens on.
const Port = 80

// Listener makes TCP listeners inside a tunnel (*netstack.Device).
type Listener interface {
	ListenTCP(addr netip.AddrPort) (net.Listener, error)
}

// Options shape the server.
type Options struct {
	// Greeting is the body of "/" (and of any path but "/bytes") for r.
	Greeting func(r *http.Request) string
	// MaxBytes, when positive, is the largest n "/bytes" serves.
	MaxBytes int64
	// ReadHeaderTimeout bounds the reading of a request's header.
	ReadHeaderTimeout time.Duration
}

// Handler answers "/bytes?n=N" with N bytes of NewStream, and every other
// path with the greeting. An n that is missing, not a whole number,
// negative or above MaxBytes is answered 400 Bad Request.
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, o.Greeting(r))
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		if err != nil || n < 0 || o.MaxBytes > 0 && n > o.MaxBytes {
			http.Error(w, "bad n", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		io.Copy(w, io.LimitReader(NewStream(), n))
	})
	return mux
}

// Serve serves Handler(o) on Port of each of addrs, through ln, until the
// server it returns is closed. If a listener cannot be made, the server is
// closed and the error names the address.
func Serve(ln Listener, addrs []netip.Addr, o Options) (*http.Server, error) {
	srv := &http.Server{Handler: Handler(o), ReadHeaderTimeout: o.ReadHeaderTimeout}
	for _, a := range addrs {
		ap := netip.AddrPortFrom(a, Port)
		l, err := ln.ListenTCP(ap)
		if err != nil {
			srv.Close()
			return nil, fmt.Errorf("listen on %v: %w", ap, err)
		}
		go srv.Serve(l)
	}
	return srv, nil
}
