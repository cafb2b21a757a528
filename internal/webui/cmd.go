package webui

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/warren-vpn/warren/internal/cli"
	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/metrics"
)

// DefaultListen is where `warren manager` serves by default.
const DefaultListen = "127.0.0.1:51821"

// Defaults of `warren manager` that depend on the platform (see
// manager.DefaultConfigDir and DefaultStateDir).
var (
	DefaultConfigDir = manager.DefaultConfigDir()
	DefaultStateDir  = manager.DefaultStateDir()
)

// ErrNeedsTLS: the listen address is not loopback and no certificate was
// given.
var ErrNeedsTLS = errors.New("serving the manager beyond this machine needs TLS")

func usage(w io.Writer, prog string) {
	fmt.Fprintf(w, `Usage: %s [options]

Serves the web UI and JSON API that manage this machine's WireGuard
tunnels: %s and every interface UAPI reaches.

On its first start it has no password: it writes a one-time setup link to
the file setup-link in --state (readable by %s only) and prints the
file's path; the first visit through the link sets the password.

Options:
  --listen ADDR       address to serve on (default %s);
                      other than loopback it needs --tls-cert and --tls-key
  --tls-cert FILE     TLS certificate chain (PEM)
  --tls-key FILE      TLS private key (PEM)
  --host NAME         a host name the UI is reached by, besides localhost
                      and IP addresses (repeatable; checked against DNS
                      rebinding)
  --config-dir DIR    where the tunnels' NAME.conf files are
                      (default %s)
  --state DIR         the manager's own state: password hash, API tokens,
                      traffic history, log (default
                      %s)
  --metrics ADDR      also serve Prometheus metrics on ADDR (off by
                      default); an address other than loopback needs
                      --metrics-token-file
  --metrics-token-file FILE
                      bearer token /metrics demands
  --allow-hooks       let imports and edits add or change PreUp, PostUp,
                      PreDown and PostDown commands (which run as root)
  -h, --help          print this help
%s`, prog, platformAbout, privileged, DefaultListen, DefaultConfigDir, DefaultStateDir, platformUsage)
}

// options is the parsed command line.
type options struct {
	listen           netip.AddrPort
	tlsCert, tlsKey  string
	hosts            []string
	configDir        string
	stateDir         string
	metrics          string
	metricsTokenFile string
	allowHooks       bool
}

type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }
func (h *hostList) Set(v string) error {
	v = strings.TrimSpace(v)
	if v == "" || strings.ContainsAny(v, "/:@ ") {
		return fmt.Errorf("%q is not a host name", v)
	}
	*h = append(*h, v)
	return nil
}

// parseArgs parses the command line; help reports -h/--help.
func parseArgs(prog string, args []string, stderr io.Writer) (opts options, help bool, err error) {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	listen := fs.String("listen", DefaultListen, "")
	fs.StringVar(&opts.tlsCert, "tls-cert", "", "")
	fs.StringVar(&opts.tlsKey, "tls-key", "", "")
	fs.Var((*hostList)(&opts.hosts), "host", "")
	fs.StringVar(&opts.configDir, "config-dir", DefaultConfigDir, "")
	fs.StringVar(&opts.stateDir, "state", DefaultStateDir, "")
	fs.StringVar(&opts.metrics, "metrics", "", "")
	fs.StringVar(&opts.metricsTokenFile, "metrics-token-file", "", "")
	fs.BoolVar(&opts.allowHooks, "allow-hooks", false, "")
	if err := cli.ParseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return opts, true, nil
		}
		return opts, false, err
	}
	if fs.NArg() > 0 {
		return opts, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	opts.listen, err = parseListen(*listen)
	if err != nil {
		return opts, false, err
	}
	if (opts.tlsCert == "") != (opts.tlsKey == "") {
		return opts, false, errors.New("--tls-cert and --tls-key go together")
	}
	if !opts.listen.Addr().IsLoopback() && opts.tlsCert == "" {
		return opts, false, fmt.Errorf("--listen %s is not a loopback address: %w (--tls-cert and --tls-key); or listen on 127.0.0.1 and reach it through an SSH tunnel", opts.listen, ErrNeedsTLS)
	}
	if opts.metricsTokenFile != "" && opts.metrics == "" {
		return opts, false, errors.New("--metrics-token-file without --metrics")
	}
	if opts.metrics != "" {
		if err := metrics.CheckBind(opts.metrics, opts.metricsTokenFile); err != nil {
			return opts, false, fmt.Errorf("--metrics: %w", err)
		}
	}
	return opts, false, nil
}

// parseListen takes an IP address and port, or localhost:PORT (which is
// 127.0.0.1:PORT: a name could resolve anywhere).
func parseListen(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("--listen %q: want IP:PORT: %w", s, err)
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(host, port))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("--listen %q: want an IP address (or localhost) and a port", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// Main runs `warren manager`; args excludes the program and command
// names. It returns the exit code.
func Main(prog string, args []string, stdout, stderr io.Writer) int {
	opts, help, err := parseArgs(prog, args, stderr)
	if help {
		usage(stdout, prog)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", prog, err, prog)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, prog, opts, stdout); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	return 0
}

// CheckArgs reports whether args (the flags of `warren manager`) would
// start the manager, without starting it: `warren manager install`
// checks the flags it gives the service.
func CheckArgs(args []string) error {
	_, help, err := parseArgs("warren manager", args, io.Discard)
	if help {
		return errors.New("--help is not a flag for the service")
	}
	return err
}

// Serve runs the manager with args (the flags of `warren manager`) until
// ctx is done, reporting on stdout: the manager service's run
// (internal/winsvc), which stops it through ctx.
func Serve(ctx context.Context, args []string, stdout io.Writer) error {
	opts, _, err := parseArgs("warren manager", args, io.Discard)
	if err != nil {
		return err
	}
	return serve(ctx, "warren manager", opts, stdout)
}

// serve runs the manager until ctx is done.
func serve(ctx context.Context, prog string, opts options, stdout io.Writer) error {
	var tlsConfig *tls.Config
	if opts.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.tlsCert, opts.tlsKey)
		if err != nil {
			return fmt.Errorf("TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	sys, store, err := manager.Platform(opts.configDir, opts.allowHooks)
	if err != nil {
		return err
	}
	m, err := manager.New(manager.Options{
		System: sys, Store: store, StateDir: opts.stateDir, AllowHooks: opts.allowHooks,
		History: true,
	})
	if err != nil {
		return err
	}
	defer m.Close()

	l, err := net.Listen("tcp", opts.listen.String())
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	listen, err := netip.ParseAddrPort(l.Addr().String())
	if err != nil {
		l.Close()
		return fmt.Errorf("listen: %w", err)
	}
	listen = netip.AddrPortFrom(listen.Addr().Unmap(), listen.Port())
	srv, err := New(Options{Manager: m, Listen: listen, TLS: tlsConfig != nil, Hosts: opts.hosts})
	if err != nil {
		l.Close()
		return err
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
		l = tls.NewListener(l, tlsConfig)
	}
	base := scheme + "://" + linkHost(listen, opts.hosts)
	m.Logf(manager.LogTagManager, "serving %s (configurations in %s, state in %s)", base, opts.configDir, opts.stateDir)
	fmt.Fprintf(stdout, "%s: serving %s (configurations in %s, state in %s)\n", prog, base, opts.configDir, opts.stateDir)
	if m.Accounts().NeedsSetup() {
		secret, err := m.Accounts().NewSetupSecret()
		if err != nil {
			l.Close()
			return err
		}
		// The link goes to a file only root reads, never to the output
		// (which a journal keeps for others to read).
		path, err := m.WriteSetupLink(base + "/setup?token=" + secret)
		if err != nil {
			l.Close()
			return err
		}
		fmt.Fprintf(stdout, "%s: no administrator password is set yet; the one-time setup link is in %s (readable by %s only)\n", prog, path, privileged)
	} else if err := m.RemoveSetupLink(); err != nil {
		fmt.Fprintf(stdout, "%s: %v\n", prog, err)
	}

	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		// Longer than an activation may take; event streams move their
		// own deadline before each write.
		WriteTimeout:   3 * time.Minute,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       nil,
	}
	errs := make(chan error, 2)
	go func() { errs <- hs.Serve(l) }()
	var metricsDone chan error
	if opts.metrics != "" {
		ms, err := metrics.New(metricsSource(m), metrics.Options{
			Addr: opts.metrics, TokenFile: opts.metricsTokenFile,
			Logf: func(format string, args ...any) { m.Logf(manager.LogTagManager, format, args...) },
		})
		if err != nil {
			hs.Close()
			return err
		}
		metricsDone = make(chan error, 1)
		go func() { metricsDone <- ms.ListenAndServe(ctx) }()
		fmt.Fprintf(stdout, "%s: serving Prometheus metrics on http://%s/metrics\n", prog, opts.metrics)
	}
	select {
	case <-ctx.Done():
	case err := <-errs:
		return fmt.Errorf("serve: %w", err)
	case err := <-metricsDone:
		hs.Close()
		return err
	}
	m.Logf(manager.LogTagManager, "stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(shutdown)
	if metricsDone != nil {
		<-metricsDone
	}
	return nil
}

// linkHost is the host:port the printed address and the setup link use:
// the listen address, or for one that listens everywhere the first
// --host name (else localhost).
func linkHost(listen netip.AddrPort, hosts []string) string {
	port := fmt.Sprint(listen.Port())
	if !listen.Addr().IsUnspecified() {
		return net.JoinHostPort(listen.Addr().String(), port)
	}
	if len(hosts) > 0 {
		return net.JoinHostPort(hosts[0], port)
	}
	return net.JoinHostPort("localhost", port)
}

// metricsSource gives the metrics server the sampler's latest snapshot
// (a fresh one if it is older than two periods), with the peers' names.
func metricsSource(m *manager.Manager) metrics.Source {
	return metrics.SourceFunc(func(ctx context.Context) ([]metrics.Device, error) {
		s := m.Sampler()
		snap := s.Recent(2 * s.Period())
		var out []metrics.Device
		for name, d := range snap.Devices {
			if d == nil {
				continue
			}
			dev := metrics.Device{Name: name}
			for _, p := range d.Peers {
				dev.Peers = append(dev.Peers, metrics.Peer{Peer: p, Name: snap.PeerName(name, p.PublicKey)})
			}
			out = append(out, dev)
		}
		return out, nil
	})
}
