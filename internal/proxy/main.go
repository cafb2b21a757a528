package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/uapi"
)

// Exit codes of Main.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// Options are `warren proxy`'s command line.
type Options struct {
	Config   string // path of the config file
	Name     string // UAPI name; "" derives it from Config
	SOCKS5   string // --socks5 ADDR, "" if not given
	HTTP     string // --http ADDR
	Forwards []string
	// Limits are "Key=Value" settings of the [Limits] section's keys (see
	// Limits.SetLimit), applied after the file's: the limit flags.
	Limits []string
}

// Main runs `warren proxy`; args excludes the program and subcommand name.
// -h or --help prints the help on stdout; a wrong command line is one line
// on stderr saying what is wrong (a flag as the user wrote it), then the
// usage line, and exit 2, before anything starts.
func Main(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, help, err := parseArgs(args)
	switch {
	case help:
		fmt.Fprint(stdout, helpText(prog))
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n%s\n", prog, err, usageLine(prog))
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, o, stdout, stderr, nil); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return exitFailed
	}
	return exitOK
}

// Run serves the tunnel o describes until ctx ends. ready, if not nil, is
// called once everything listens, with the UAPI name and the addresses
// of the proxies and forwards that started. A listener that cannot start
// (a port in use, say) is reported on stderr and the others run; Run fails
// only if none does, or if the tunnel itself cannot start.
func Run(ctx context.Context, o Options, stdout, stderr io.Writer, ready func(name string, addrs []net.Addr)) error {
	warn := func(msg string) { fmt.Fprintf(stderr, "warning: %s\n", msg) }
	data, err := os.ReadFile(o.Config)
	if err != nil {
		return err
	}
	wgPart, settings, err := SplitConfig(o.Config, data, warn)
	if err != nil {
		return err
	}
	wgName := o.Config
	if settings.WGConfig != "" {
		wgName = settings.WGConfig
		if !filepath.IsAbs(wgName) {
			wgName = filepath.Join(filepath.Dir(o.Config), wgName)
		}
		if wgPart, err = os.ReadFile(wgName); err != nil {
			return fmt.Errorf("WGConfig: %w", err)
		}
	}
	f, err := conf.Parse(wgName, wgPart, conf.Options{Quick: true, Warn: warn})
	if err != nil {
		return err
	}
	in := &f.Interface
	if in.Table != "" || len(in.PreUp)+len(in.PostUp)+len(in.PreDown)+len(in.PostDown) > 0 || in.SaveConfig {
		warn("Table, PreUp, PostUp, PreDown, PostDown and SaveConfig have no effect in proxy mode")
	}
	if err := applyFlags(settings, o); err != nil {
		return err
	}
	if err := settings.Limits.Validate(); err != nil {
		return err
	}
	if err := checkListenAddrs(settings); err != nil {
		return err
	}
	if len(settings.SOCKS5)+len(settings.HTTP)+len(settings.Forwards) == 0 {
		return errors.New("nothing to serve: give --socks5, --http or --forward, or the config's [Socks5], [http] or tunnel sections")
	}

	name := o.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(o.Config), filepath.Ext(o.Config))
	}
	if err := uapi.ValidName(name); err != nil {
		return fmt.Errorf("UAPI name (use --name): %w", err)
	}
	level := device.LogLevelError
	switch os.Getenv("LOG_LEVEL") {
	case "verbose", "debug":
		level = device.LogLevelVerbose
	case "silent":
		level = device.LogLevelSilent
	}
	logger := device.NewLogger(level, fmt.Sprintf("(%s) ", name))
	logf := logger.Errorf

	tun, err := OpenTunnel(ctx, f, TunnelOptions{Name: name, Logger: logger, Resolver: &conf.Resolver{Retries: 3, Warn: warn}})
	if err != nil {
		return err
	}
	defer tun.Close()
	addrText := make([]string, 0, len(in.Addresses))
	for _, a := range tun.Net.Addresses() {
		addrText = append(addrText, a.String())
	}
	fmt.Fprintf(stdout, "tunnel %s: %s on a userspace stack, WireGuard on UDP port %d\n",
		name, strings.Join(addrText, ", "), tun.Dev.State().ListenPort)

	if l, err := listenUAPI(name); err != nil {
		warn(fmt.Sprintf("no control socket, 'warren show %s' will not see this tunnel: %v", name, err))
	} else {
		done := make(chan struct{})
		go func() {
			defer close(done)
			uapi.Serve(l, tun.Dev, logger.Verbosef)
		}()
		defer func() { l.Close(); <-done }()
		fmt.Fprintf(stdout, "control: warren show %s\n", name)
	}

	lim := settings.Limits
	fmt.Fprintf(stdout, "limits: %s\n", lim)
	limiter := NewLimiter(lim, logf)

	type closer interface{ Close() error }
	var servers []closer
	var addrs []net.Addr
	errs := make(chan error, 1)
	var serving sync.WaitGroup
	serve := func(what string, l net.Listener, s interface{ Serve(net.Listener) error }) {
		addrs = append(addrs, l.Addr())
		fmt.Fprintf(stdout, "%s proxy listening on %v\n", what, l.Addr())
		serving.Go(func() {
			if err := s.Serve(l); err != nil {
				select {
				case errs <- fmt.Errorf("%s proxy: %w", what, err):
				default:
				}
			}
		})
	}
	defer func() {
		for _, s := range servers {
			s.Close()
		}
		serving.Wait()
	}()
	for _, ss := range settings.SOCKS5 {
		l, err := listen(ss, "SOCKS5", warn)
		if err != nil {
			fmt.Fprintf(stderr, "SOCKS5 proxy: %v\n", err)
			continue
		}
		s := &SOCKS5Server{Net: tun, Username: ss.Username, Password: ss.Password, Logf: logf, Limiter: limiter}
		servers = append(servers, s)
		serve("SOCKS5", l, s)
	}
	for _, ss := range settings.HTTP {
		l, err := listen(ss, "HTTP", warn)
		if err != nil {
			fmt.Fprintf(stderr, "HTTP proxy: %v\n", err)
			continue
		}
		s := &HTTPServer{Net: tun, Username: ss.Username, Password: ss.Password, Logf: logf, Limiter: limiter}
		servers = append(servers, s)
		serve("HTTP", l, s)
	}
	for _, fw := range settings.Forwards {
		if !fw.Reverse {
			fw.Listen = loopbackDefault(fw.Listen)
		}
		fwd := &Forwarder{Tunnel: tun, Forward: fw, Logf: logf, Limiter: limiter}
		ls, pcs, err := fwd.Listen()
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			continue
		}
		if !fw.Reverse && !isLoopback(fw.Listen) {
			warn(fmt.Sprintf("forward %v listens beyond loopback: anyone who can reach it reaches the tunnel", fw))
		}
		for _, l := range ls {
			addrs = append(addrs, l.Addr())
		}
		for _, pc := range pcs {
			addrs = append(addrs, pc.LocalAddr())
		}
		fmt.Fprintf(stdout, "forward %v\n", fw)
		servers = append(servers, fwd)
		fwd.Serve(ls, pcs)
	}
	if len(servers) == 0 {
		return errors.New("no proxy or forward could start")
	}
	if ready != nil {
		ready(name, addrs)
	}
	select {
	case <-ctx.Done():
		return nil
	case <-tun.Dev.Wait():
		return errors.New("the tunnel stopped")
	case err := <-errs:
		return err
	}
}

// applyFlags lets the command line win over the file: --socks5 and --http
// replace the file's listen addresses (keeping its credentials), --forward
// adds forwards, and the limit flags replace the [Limits] keys they name.
func applyFlags(s *Settings, o Options) error {
	override := func(list []ServerSettings, addr string) []ServerSettings {
		if addr == "" {
			return list
		}
		ss := ServerSettings{Listen: addr}
		if len(list) > 0 {
			ss.Username, ss.Password = list[0].Username, list[0].Password
		}
		return []ServerSettings{ss}
	}
	for _, kv := range o.Limits {
		k, v, _ := strings.Cut(kv, "=")
		if err := s.Limits.SetLimit(k, v); err != nil {
			return fmt.Errorf("limit: %w", err)
		}
	}
	s.SOCKS5 = override(s.SOCKS5, o.SOCKS5)
	s.HTTP = override(s.HTTP, o.HTTP)
	for _, spec := range o.Forwards {
		f, err := ParseForward(spec)
		if err != nil {
			return err
		}
		s.Forwards = append(s.Forwards, f)
	}
	return nil
}
