package selftest

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/warren-vpn/warren/internal/buildinfo"
	"github.com/warren-vpn/warren/internal/cli"
	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/winnet"
)

// Errors Run returns before it creates anything, and reasons checks fail
// or are skipped with, for errors.Is.
var (
	// ErrNotPrivileged: the selftest must run as root (Linux) or from an
	// elevated Administrator prompt (Windows).
	ErrNotPrivileged = errors.New("not privileged")
	// ErrUnsupported: the selftest has no adapter for this platform.
	ErrUnsupported = errors.New("selftest not supported on this platform")
	// ErrInterrupted: the run was cut short (Ctrl-C).
	ErrInterrupted = errors.New("interrupted")
	// ErrNeeds: a check did not run because one it needs did not pass.
	ErrNeeds = errors.New("needs a check that did not pass")
	// ErrNotEngaged: the kill switch was not asked for.
	ErrNotEngaged = errors.New("kill switch not engaged")
	// ErrFamily: the address family is not available here.
	ErrFamily = errors.New("address family not available")
)

// MTU is the throwaway tunnel's MTU (wg-quick's default).
const MTU = 1420

// Options configure Run.
type Options struct {
	// Netns (Linux only) is a network namespace, by name (under
	// /run/netns) or path, to create the adapter in; the OS-side checks run
	// there too, while the two engines' encrypted UDP stays on this
	// namespace's loopback. "" uses the current namespace.
	Netns string
	// KillSwitch (Windows only) engages the kill switch for the middle of
	// the run: every other connection of the machine is blocked for those
	// seconds (a dynamic WFP session: it goes away with the process, even
	// if it crashes).
	KillSwitch bool
	// Progress, if not nil, receives each check as it completes.
	Progress func(Check)
	// Logger receives both engines' logs; nil is silent.
	Logger *device.Logger

	// Test seams: the OS (nil: this machine's), randomness for addresses
	// and the adapter's key (nil: crypto/rand), and a hook that runs once
	// the adapter is configured, before the checks that use it.
	host    host
	rand    io.Reader
	afterUp func(a adapter) error
}

// spec is the throwaway tunnel.
type spec struct {
	mtu    int
	v4, v6 family
	// key is the adapter engine's private key; peerKey the peer's public
	// key, found at endpoint.
	key      noise.PrivateKey
	peerKey  noise.PublicKey
	endpoint netip.AddrPort
}

// families returns the families that have a subnet, IPv4 first.
func (s *spec) families() []family {
	var fs []family
	for _, f := range []family{s.v4, s.v6} {
		if f.OK() {
			fs = append(fs, f)
		}
	}
	return fs
}

// config is the adapter side's configuration, as a wg-quick file would
// give it: its addresses, and the peer at the loopback endpoint holding
// the peer addresses.
func (s *spec) config() *conf.File {
	f := &conf.File{Interface: conf.Interface{PrivateKey: &s.key, MTU: s.mtu}}
	p := conf.Peer{PublicKey: s.peerKey, Endpoint: s.endpoint.String()}
	for _, fam := range s.families() {
		f.Interface.Addresses = append(f.Interface.Addresses, fam.Local)
		p.AllowedIPs = append(p.AllowedIPs, netip.PrefixFrom(fam.Peer, fam.Peer.BitLen()))
	}
	f.Peers = []conf.Peer{p}
	return f
}

// host is what the selftest needs of the operating system; host_linux.go
// and host_windows.go implement it, tests fake it.
type host interface {
	// about returns facts about the OS: version, kernel.
	about() []Fact
	// privileged returns nil if the process may create adapters, else an
	// error wrapping ErrNotPrivileged that says how to run.
	privileged() error
	// usedPrefixes returns the routes (all tables) and addresses where
	// the adapter will live.
	usedPrefixes() ([]netip.Prefix, error)
	// driver checks that the adapter's driver is there and usable; it
	// returns what it found and facts for the report.
	driver() (string, []Fact, error)
	// up creates the adapter and its engine from sp and configures the
	// adapter's addresses and routes. On error nothing is left behind.
	up(ctx context.Context, sp *spec, logger *device.Logger) (adapter, error)
}

// adapter is the OS adapter with warren's engine on it.
type adapter interface {
	// name is the adapter's name as the OS shows it.
	name() string
	// facts about the adapter for the report (offloads, driver version).
	facts() []Fact
	// device is the engine.
	device() *device.Device
	// ipv6 returns why the adapter has no IPv6, or nil.
	ipv6() error
	// addresses are the adapter's addresses as the OS reports them.
	addresses() ([]netip.Prefix, error)
	// routeVia names the interface the OS routes dst through.
	routeVia(dst netip.Addr) (string, error)
	// mtu is the adapter's MTU as the OS reports it (IPv4).
	mtu() (int, error)
	// ping sends ICMP echo requests with payload bytes to dst through the
	// OS's stack until one is answered or ctx ends; df forbids
	// fragmentation. It returns the round trip.
	ping(ctx context.Context, dst netip.Addr, payload int, df bool) (time.Duration, error)
	// dial connects through the OS's stack (in the adapter's namespace).
	dial(ctx context.Context, network, address string) (net.Conn, error)
	// killSwitch is the firewall seam, nil where there is none.
	killSwitch() killSwitch
	// close removes the adapter, its addresses and routes, and stops the
	// engine.
	close() error
	// gone checks, after close, that the OS has no trace of the adapter.
	gone() error
}

// killSwitch engages a kill switch (all untunneled traffic blocked) on the
// adapter and reads its rules back.
type killSwitch interface {
	// engage installs the kill switch and returns its planned rules.
	engage() ([]winnet.Rule, error)
	// installed reads the rules in effect back from the firewall.
	installed() ([]winnet.Rule, error)
	// disengage removes it.
	disengage() error
}

// Run runs the selftest on this machine and returns its report. It
// returns an error instead, having created nothing, when the process lacks
// the privileges, the platform has no adapter, or opts are wrong. The
// context cancels the run (Ctrl-C); what was created is removed all the
// same.
func Run(ctx context.Context, opts Options) (*Report, error) {
	h := opts.host
	if h == nil {
		var err error
		if h, err = newHost(opts); err != nil {
			return nil, err
		}
	}
	if err := h.privileged(); err != nil {
		return nil, err
	}
	rnd := opts.rand
	if rnd == nil {
		rnd = rand.Reader
	}
	r := &runner{ctx: ctx, rep: &Report{}, progress: opts.Progress, status: map[string]Status{}}
	r.rep.Facts = append(r.rep.Facts, h.about()...)
	r.rep.fact("warren", "%s", versionText())
	script(r, h, opts, rnd)
	r.rep.Interrupted = ctx.Err() != nil
	return r.rep, nil
}

// versionText is warren's version with the commit it was built from.
func versionText() string {
	bi := buildinfo.Read()
	v := bi.Version
	if c := bi.Commit; c != "" {
		if len(c) > 12 {
			c = c[:12]
		}
		if bi.Modified {
			c += ", modified"
		}
		v += " (commit " + c + ")"
	}
	return fmt.Sprintf("%s, %s %s", v, bi.GoVersion, bi.Platform)
}

// Exit codes of Main.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// Main runs `warren selftest [--netns NAME] [--kill-switch]`; args
// excludes the program and subcommand name. It prints the report to
// stdout and returns 0 only if no check failed.
func Main(prog string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	var opts Options
	if runtime.GOOS == "linux" {
		fs.StringVar(&opts.Netns, "netns", "", "create the adapter in network namespace `NAME` (or a path), which must exist")
	}
	if runtime.GOOS == "windows" {
		fs.BoolVar(&opts.KillSwitch, "kill-switch", false, "also engage the kill switch and compare its firewall rules with the plan;\nblocks every other connection of this machine while the test runs")
	}
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s [options]\n\n%s\n\nOptions:\n", prog, usageText)
		cli.PrintFlags(w, fs)
		fmt.Fprintf(w, "  -h, --help\n        print this help\n")
	}
	if err := cli.ParseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return exitOK
		}
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		usage(stderr)
		return exitUsage
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", prog, fs.Arg(0))
		usage(stderr)
		return exitUsage
	}
	opts.Logger = logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := false
	opts.Progress = func(c Check) {
		if !started {
			io.WriteString(stdout, header)
			started = true
		}
		writeCheck(stdout, c)
	}
	rep, err := Run(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return exitFailed
	}
	if !started {
		io.WriteString(stdout, header)
	}
	rep.writeTail(stdout)
	if !rep.OK() {
		return exitFailed
	}
	return exitOK
}

const usageText = `Proves warren's data path on this machine: creates a real adapter (TUN on
Linux, Wintun on Windows) with a throwaway tunnel (fresh random keys) to a
warren peer inside this process on a userspace network stack, reached over
loopback UDP; pings the peer and fetches a page from it through this
machine's own network stack; checks the adapter's addresses, routes and MTU
as the OS reports them; removes everything (also on failure or Ctrl-C); and
prints a report to attach to a bug report. Needs root (Linux) or an
elevated Administrator prompt (Windows). Exit status 0 means no check
failed.

The throwaway addresses are a /30 from 198.18.0.0/15 (else 100.64.0.0/10)
and a /126 from fd00::/8 that no route or address of this machine overlaps.
The kill switch is left alone unless --kill-switch is given (Windows).`

// logger follows LOG_LEVEL as the daemon does; silent by default.
func logger() *device.Logger {
	switch level := os.Getenv("LOG_LEVEL"); level {
	case "verbose", "debug":
		return device.NewLogger(device.LogLevelVerbose, "(selftest) ")
	case "error":
		return device.NewLogger(device.LogLevelError, "(selftest) ")
	}
	return nil
}

// runner runs checks in order, recording each.
type runner struct {
	ctx      context.Context
	rep      *Report
	progress func(Check)
	status   map[string]Status
}

// skipError makes a check skipped rather than failed.
type skipError struct{ err error }

func (e *skipError) Error() string { return e.err.Error() }
func (e *skipError) Unwrap() error { return e.err }

func skip(err error) error { return &skipError{err} }

// check runs fn as the check called name, unless one of needs has not
// passed or the run was interrupted, and records the outcome. fn returns
// what it saw, or an error (wrapped by skip to skip the check).
func (r *runner) check(name string, needs []string, timeout time.Duration, fn func(ctx context.Context) (string, error)) bool {
	c := Check{Name: name}
	if r.ctx.Err() != nil {
		c.Status, c.Err, c.Detail = Skip, ErrInterrupted, "not run: interrupted"
		return r.record(c)
	}
	for _, n := range needs {
		if r.status[n] != Pass {
			c.Status, c.Err = Skip, fmt.Errorf("%w: %s", ErrNeeds, n)
			c.Detail = fmt.Sprintf("not run: needs %q, which did not pass", n)
			if r.status[n] == Skip {
				c.Detail = fmt.Sprintf("not run: needs %q, which was skipped", n)
			}
			return r.record(c)
		}
	}
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	start := time.Now()
	detail, err := fn(ctx)
	c.Took = time.Since(start)
	var se *skipError
	switch {
	case err == nil:
		c.Status, c.Detail = Pass, detail
	case errors.As(err, &se):
		c.Status, c.Err, c.Detail = Skip, se.err, se.err.Error()
	case r.ctx.Err() != nil:
		c.Status, c.Err, c.Detail = Fail, errors.Join(ErrInterrupted, err), "interrupted: "+err.Error()
	default:
		c.Status, c.Err, c.Detail = Fail, err, err.Error()
		if ctx.Err() != nil && !strings.Contains(c.Detail, "within") {
			c.Detail += fmt.Sprintf(" (gave up after %v)", timeout)
		}
	}
	return r.record(c)
}

func (r *runner) record(c Check) bool {
	r.status[c.Name] = c.Status
	r.rep.Checks = append(r.rep.Checks, c)
	if r.progress != nil {
		r.progress(c)
	}
	return c.Status == Pass
}
