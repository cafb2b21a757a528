//go:build windows

package wintunnel

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"golang.org/x/sys/windows"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/tun"
	"github.com/warren-vpn/warren/internal/winnet"
)

// Options adjust Up.
type Options struct {
	// Logger receives the engine's log; nil is silent.
	Logger *device.Logger
	// Resolver resolves the peers' endpoints; nil resolves without retries.
	Resolver *conf.Resolver
	// Warn, if not nil, receives non-fatal remarks (default route
	// re-pinning failures, an address family skipped, a stale address
	// removed, retries at boot); nil sends them to Logger's errors.
	Warn func(msg string)
	// ServiceName is the Windows service running the tunnel, and
	// OwnerSID, for a tunnel run otherwise (warren selftest), the SID of
	// the process's user: the kill switch lets only warren.exe running
	// as that owner through (winnet.Options). ServiceTunnel sets
	// ServiceName.
	ServiceName, OwnerSID string
	// NameGUID derives the adapter's GUID from the tunnel's name alone,
	// not its whole configuration: for a tunnel whose keys are new every
	// run (warren selftest), so that Windows keeps one network profile
	// for it instead of a new one each time.
	NameGUID bool

	// hooksChecked says the caller runs the configuration's hooks itself
	// (ServiceTunnel, after the service checked its policy).
	hooksChecked bool
}

// Tunnel is a running tunnel. Close takes everything down.
type Tunnel struct {
	name     string
	watcher  *winnet.InterfaceWatcher
	tun      *tun.Wintun
	bind     *bind.Windows
	follower *bind.DefaultRouteFollower
	dev      *device.Device
	applied  *winnet.Applied
	plan     *winnet.Plan

	died      chan error
	stopWatch chan struct{}
	watching  sync.WaitGroup
}

// ErrEngineClosed is the reason a tunnel died when its engine closed for
// a reason the adapter does not tell.
var ErrEngineClosed = errors.New("the engine closed")

// ErrHooks is wrapped when Up is given a configuration with PreUp/PostUp/
// PreDown/PostDown commands: Up never runs them. ServiceTunnel does, once
// the service has checked them against the administrator's policy (they
// run as SYSTEM).
var ErrHooks = errors.New("configuration has PreUp/PostUp/PreDown/PostDown commands")

// Up brings the tunnel name up from f (parsed with conf.Options{Quick:
// true}): it starts watching TCP/IP's interfaces, creates the Wintun
// adapter with a GUID derived from f (winnet.AdapterGUID; retried early
// in boot), opens the bind (pinned to the physical default interface for
// each family whose default route the tunnel takes, following route
// changes), configures and starts the engine, then applies the network
// plan as TCP/IP attaches each family (winnet.Apply). On failure
// everything done so far is undone. Died reports the tunnel failing
// later.
func Up(ctx context.Context, name string, f *conf.File, opts Options) (_ *Tunnel, err error) {
	if winnet.HasHooks(f) && !opts.hooksChecked {
		return nil, fmt.Errorf("tunnel %s: %w", name, ErrHooks)
	}
	// Check the plan before resolving endpoints (which may take a while).
	planOpts := winnet.Options{ServiceName: opts.ServiceName, OwnerSID: opts.OwnerSID}
	if _, err := winnet.NewPlan(name, f, planOpts); err != nil {
		return nil, fmt.Errorf("tunnel %s: %w", name, err)
	}
	cfg, err := f.WireGuardConfig(ctx, opts.Resolver, true)
	if err != nil {
		return nil, fmt.Errorf("tunnel %s: %w", name, err)
	}
	var endpoints []netip.AddrPort
	for _, p := range cfg.Peers {
		if p.Endpoint != nil {
			endpoints = append(endpoints, *p.Endpoint)
		}
	}
	// Recompute with the resolved endpoints so the kill switch names them.
	planOpts.Endpoints = endpoints
	plan, err := winnet.NewPlan(name, f, planOpts)
	if err != nil {
		return nil, fmt.Errorf("tunnel %s: %w", name, err)
	}

	logf := func(string, ...any) {}
	warn := func(string) {}
	if opts.Logger != nil {
		logf = opts.Logger.Verbosef
		warn = func(msg string) { opts.Logger.Errorf("%s", msg) }
	}
	if opts.Warn != nil {
		warn = opts.Warn
	}
	t := &Tunnel{name: name, plan: plan}
	defer func() {
		if err != nil {
			err = errors.Join(err, t.Close())
		}
	}()
	// Watch TCP/IP before the adapter exists, so that a family attached
	// in the moment before Apply looks is not missed.
	if t.watcher, err = winnet.WatchInterfaces(); err != nil {
		return nil, fmt.Errorf("tunnel %s: %w", name, err)
	}
	guid := winnet.AdapterGUID(name, f).Windows()
	if opts.NameGUID {
		guid = winnet.AdapterGUID(name, nil).Windows()
	}
	boot := winnet.BootRetry{Uptime: windows.DurationSinceBoot, Logf: func(format string, args ...any) {
		warn(fmt.Sprintf(format, args...))
	}}
	missingDLL := func(err error) bool { return !errors.Is(err, tun.ErrWintunMissing) }
	if err = boot.Do(ctx, "creating adapter "+name, missingDLL, func() (err error) {
		t.tun, err = tun.CreateWintun(name, plan.MTU, guid)
		return err
	}); err != nil {
		return nil, fmt.Errorf("tunnel %s: %w", name, err)
	}
	t.bind = bind.NewWindows()
	// Pin the UDP sockets to the physical default route whenever the
	// tunnel's own routes could capture an endpoint (a /0, the two /1
	// halves, or AllowedIPs that cover one); with Table = off there are no
	// routes, and nothing to pin.
	var routed []netip.Prefix
	for _, r := range plan.Routes {
		routed = append(routed, r.Prefix)
	}
	if pin := winnet.PinFamilies(routed, endpoints); pin.V4 || pin.V6 {
		logf("tunnel %s: UDP sockets follow the physical default route: %s %s", name, pin.Why4, pin.Why6)
		pinWarn := func(err error) { warn(fmt.Sprintf("tunnel %s: %v", name, err)) }
		if t.follower, err = bind.FollowDefaultRoute(t.bind, t.tun.LUID(), pin.V4, pin.V6, pinWarn); err != nil {
			return nil, fmt.Errorf("tunnel %s: %w", name, err)
		}
	}
	if t.dev, err = device.New(t.tun, t.bind, device.Options{Logger: opts.Logger}); err != nil {
		return nil, fmt.Errorf("tunnel %s: %w", name, err)
	}
	if err = t.dev.Apply(cfg); err != nil {
		return nil, fmt.Errorf("tunnel %s: configure: %w", name, err)
	}
	if err = t.dev.Up(); err != nil {
		return nil, fmt.Errorf("tunnel %s: up: %w", name, err)
	}
	if t.applied, err = winnet.Apply(ctx, plan, t.tun.LUID(), t.watcher, winnet.ApplyOptions{Warn: warn, Logf: logf}); err != nil {
		return nil, fmt.Errorf("tunnel %s: %w", name, err)
	}
	t.tun.SetMTU(plan.MTU)
	t.watch()
	return t, nil
}

// watch reports on died the first sign that the tunnel stopped working:
// the adapter failed, the engine closed, or configuring a family that
// attached late failed.
func (t *Tunnel) watch() {
	t.died = make(chan error, 1)
	t.stopWatch = make(chan struct{})
	stop, tunDead, engineDone, applyFailed := t.stopWatch, t.tun.Dead(), t.dev.Wait(), t.applied.Failed()
	tunErr, applyErr := t.tun.Err, t.applied.Err
	t.watching.Add(1)
	go func() {
		defer t.watching.Done()
		if err := firstFailure(stop, tunDead, engineDone, applyFailed, tunErr, applyErr); err != nil {
			t.died <- fmt.Errorf("tunnel %s: %w", t.name, err)
		}
	}()
}

// firstFailure waits for the adapter, the engine or the network
// configuration to fail, or for stop (then it returns nil), and says why.
// An engine that closed because its adapter failed reports the adapter's
// reason.
func firstFailure(stop, tunDead, engineDone, applyFailed <-chan struct{}, tunErr, applyErr func() error) error {
	select {
	case <-stop:
		return nil
	case <-tunDead:
		return tunErr()
	case <-engineDone:
		if err := tunErr(); err != nil {
			return err
		}
		return ErrEngineClosed
	case <-applyFailed:
		return applyErr()
	}
}

// Died delivers, once, why the tunnel stopped working on its own; nothing
// after Close.
func (t *Tunnel) Died() <-chan error { return t.died }

// Device is the engine, for serving UAPI.
func (t *Tunnel) Device() *device.Device { return t.dev }

// Plan is the network plan in effect.
func (t *Tunnel) Plan() *winnet.Plan { return t.plan }

// LUID is the adapter's LUID.
func (t *Tunnel) LUID() uint64 { return t.tun.LUID() }

// Close undoes the network plan (DNS, routes, addresses, kill switch),
// stops following the default route, closes the engine, which closes
// the bind and removes the adapter, and stops watching interfaces. Safe
// to call more than once.
func (t *Tunnel) Close() error {
	if t.stopWatch != nil {
		close(t.stopWatch)
		t.watching.Wait()
		t.stopWatch = nil
	}
	var errs []error
	if t.applied != nil {
		errs = append(errs, t.applied.Undo())
		t.applied = nil
	}
	if t.follower != nil {
		errs = append(errs, t.follower.Close())
		t.follower = nil
	}
	switch {
	case t.dev != nil:
		errs = append(errs, t.dev.Close())
		t.dev, t.tun, t.bind = nil, nil, nil
	case t.tun != nil:
		errs = append(errs, t.tun.Close())
		t.tun = nil
	}
	if t.watcher != nil {
		errs = append(errs, t.watcher.Close())
		t.watcher = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tunnel %s down: %w", t.name, err)
	}
	return nil
}

// Warnings returns the remarks about running the given tunnels' plans
// together (default route claimed twice, overlapping AllowedIPs, a kill
// switch blocking another tunnel), one line each.
func Warnings(plans []*winnet.Plan) []string {
	var out []string
	for _, w := range winnet.Conflicts(plans) {
		out = append(out, strings.TrimSpace(w.String()))
	}
	return out
}
