//go:build windows

package wintunnel

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

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
	// re-pinning failures).
	Warn func(msg string)

	// hooksChecked says the caller runs the configuration's hooks itself
	// (ServiceTunnel, after the service checked its policy).
	hooksChecked bool
}

// Tunnel is a running tunnel. Close takes everything down.
type Tunnel struct {
	name     string
	tun      *tun.Wintun
	bind     *bind.Windows
	follower *bind.DefaultRouteFollower
	dev      *device.Device
	applied  *winnet.Applied
	plan     *winnet.Plan
}

// ErrHooks is wrapped when Up is given a configuration with PreUp/PostUp/
// PreDown/PostDown commands: Up never runs them. ServiceTunnel does, once
// the service has checked them against the administrator's policy (they
// run as SYSTEM).
var ErrHooks = errors.New("configuration has PreUp/PostUp/PreDown/PostDown commands")

// Up brings the tunnel name up from f (parsed with conf.Options{Quick:
// true}): it creates the Wintun adapter, opens the bind (pinned to the
// physical default interface for each family whose default route the
// tunnel takes, following route changes), configures and starts the
// engine, then applies the network plan. On failure everything done so
// far is undone.
func Up(ctx context.Context, name string, f *conf.File, opts Options) (_ *Tunnel, err error) {
	if winnet.HasHooks(f) && !opts.hooksChecked {
		return nil, fmt.Errorf("tunnel %s: %w", name, ErrHooks)
	}
	// Check the plan before resolving endpoints (which may take a while).
	if _, err := winnet.NewPlan(name, f, winnet.Options{}); err != nil {
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
	plan, err := winnet.NewPlan(name, f, winnet.Options{Endpoints: endpoints})
	if err != nil {
		return nil, fmt.Errorf("tunnel %s: %w", name, err)
	}

	t := &Tunnel{name: name, plan: plan}
	defer func() {
		if err != nil {
			err = errors.Join(err, t.Close())
		}
	}()
	if t.tun, err = tun.CreateWintun(name, plan.MTU); err != nil {
		return nil, fmt.Errorf("tunnel %s: %w", name, err)
	}
	t.bind = bind.NewWindows()
	if plan.DefaultRoute4 || plan.DefaultRoute6 {
		warn := func(err error) {
			if opts.Warn != nil {
				opts.Warn(fmt.Sprintf("tunnel %s: %v", name, err))
			}
		}
		if t.follower, err = bind.FollowDefaultRoute(t.bind, t.tun.LUID(), plan.DefaultRoute4, plan.DefaultRoute6, warn); err != nil {
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
	if t.applied, err = winnet.Apply(plan, t.tun.LUID()); err != nil {
		return nil, fmt.Errorf("tunnel %s: %w", name, err)
	}
	t.tun.SetMTU(plan.MTU)
	return t, nil
}

// Device is the engine, for serving UAPI.
func (t *Tunnel) Device() *device.Device { return t.dev }

// Plan is the network plan in effect.
func (t *Tunnel) Plan() *winnet.Plan { return t.plan }

// LUID is the adapter's LUID.
func (t *Tunnel) LUID() uint64 { return t.tun.LUID() }

// Close undoes the network plan (kill switch, DNS, routes, addresses),
// stops following the default route, and closes the engine, which closes
// the bind and removes the adapter. Safe to call more than once.
func (t *Tunnel) Close() error {
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
