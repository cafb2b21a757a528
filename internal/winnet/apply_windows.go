//go:build windows

package winnet

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
)

// Applied is a Plan in effect on an adapter: its kill switch and its IP
// configuration. Undo removes both.
type Applied struct {
	plan *Plan
	fw   *firewall
	cfg  *Configuration
}

// ApplyOptions adjust Apply.
type ApplyOptions struct {
	// Warn receives non-fatal remarks (a family skipped, a stale address
	// removed from another adapter); Logf progress and boot retries.
	Warn func(msg string)
	Logf func(format string, args ...any)
}

// Apply puts p into effect on the adapter with the given LUID (the Wintun
// adapter's), which w, started before the adapter was created, watches:
// the kill switch in a dynamic WFP session first, then, family by family
// as TCP/IP attaches it, the interface MTU and metric, addresses, routes,
// DNS servers and search domains (see Configure: a family that is
// disabled or does not attach is skipped with a warning). Configuration
// steps that fail early in boot are retried while the system has been up
// less than BootWindow. On failure it undoes what it did and returns the
// error.
func Apply(ctx context.Context, p *Plan, luid uint64, w *InterfaceWatcher, opts ApplyOptions) (*Applied, error) {
	if w == nil {
		return nil, fmt.Errorf("apply network plan of %s: no interface watcher (start one with WatchInterfaces before creating the adapter)", p.Name)
	}
	a := &Applied{plan: p}
	// The kill switch goes first, so that no packet leaks in the moment
	// between the routes appearing and the filters arriving.
	if len(p.Firewall) > 0 {
		fw, err := openFirewall(p.Name, luid, p.Firewall)
		if err != nil {
			return nil, fmt.Errorf("apply network plan of %s: %w", p.Name, err)
		}
		a.fw = fw
	}
	w.att.SetInterface(luid)
	cfg, err := Configure(ctx, p, newIPHelper(luid), w.att, ConfigOptions{
		Boot: BootRetry{Uptime: windows.DurationSinceBoot, Logf: opts.Logf},
		Warn: opts.Warn,
		Logf: opts.Logf,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("apply network plan of %s: %w", p.Name, err), a.Undo())
	}
	a.cfg = cfg
	return a, nil
}

// Failed is closed when configuring a family that attached after Apply
// returned has failed; Err says why.
func (a *Applied) Failed() <-chan struct{} { return a.cfg.Failed() }

// Err is why Failed was closed, or nil.
func (a *Applied) Err() error { return a.cfg.Err() }

// Undo removes the DNS settings, routes and addresses Apply added, then
// the kill switch (so that nothing leaks while the routes go), and
// reports every failure. Idempotent.
func (a *Applied) Undo() error {
	if a == nil {
		return nil
	}
	var errs []error
	if err := a.cfg.Undo(); err != nil {
		errs = append(errs, err)
	}
	if err := a.fw.close(); err != nil {
		errs = append(errs, err)
	}
	a.fw = nil
	if len(errs) > 0 {
		return fmt.Errorf("undo network plan of %s: %w", a.plan.Name, errors.Join(errs...))
	}
	return nil
}
