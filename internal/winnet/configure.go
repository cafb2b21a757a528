package winnet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// InterfaceMetric is the tunnel adapter's interface metric: low, so that
// its routes win ties against physical interfaces.
const InterfaceMetric = 5

// Readiness defaults.
const (
	// AttachTimeout is how long Configure waits for TCP/IP to attach a
	// first family to a new adapter (WireGuard for Windows: one minute).
	AttachTimeout = time.Minute
	// FamilyGrace is how long, once one family is attached, Configure
	// waits for the other families the plan uses before going on without
	// them (they are still configured if they attach later).
	FamilyGrace = 10 * time.Second
)

// ConfigOptions adjust Configure. Zero values pick the defaults and log
// nothing.
type ConfigOptions struct {
	AttachTimeout time.Duration
	FamilyGrace   time.Duration
	// Boot retries a family's configuration that fails with ErrNotFound
	// early in boot.
	Boot BootRetry
	// Warn receives non-fatal remarks: a family skipped, a stale address
	// removed from another adapter.
	Warn func(msg string)
	// Logf receives progress (a family configured).
	Logf func(format string, args ...any)
}

// errAbsent: the family's IP interface is not there (not attached yet).
var errAbsent = errors.New("IP interface not attached")

// Configuration is a plan's addresses, routes, DNS servers, MTU and metric
// in effect on an adapter, family by family as TCP/IP attaches them. It
// keeps watching after Configure returns: a family that attaches late, or
// again (its IP interface deleted and re-added), is configured then. Undo
// stops that and removes what was added.
type Configuration struct {
	plan *Plan
	h    IPHelper
	att  *Attachments
	opts ConfigOptions

	ctx    context.Context // cancelled by Undo: cuts boot retries short
	cancel context.CancelFunc
	exited chan struct{}

	// Owned by the run goroutine until exited is closed, then by Undo.
	added map[IPFamily]*familyAdded
	order []IPFamily // families in the order they were first configured

	failed chan struct{}
	err    error // why, once failed is closed

	undoOnce sync.Once
	undoErr  error
}

// familyAdded is what configuring one family added, so Undo removes it
// and nothing else.
type familyAdded struct {
	addrs  []netip.Prefix
	routes []Route
	dns    bool
}

// Configure configures p on the adapter behind h, each family once TCP/IP
// has attached it (its IP interface exists: probed at once, then as att
// reports). It returns when every family the plan has addresses or routes
// for is configured, is disabled on the machine (skipped with a warning),
// or has not attached within FamilyGrace of the first family (skipped with
// a warning; configured if it attaches later). It fails if no family
// attaches within AttachTimeout, if ctx ends first, or if configuring a
// family fails, after undoing what it added.
func Configure(ctx context.Context, p *Plan, h IPHelper, att *Attachments, opts ConfigOptions) (*Configuration, error) {
	if opts.AttachTimeout <= 0 {
		opts.AttachTimeout = AttachTimeout
	}
	if opts.FamilyGrace <= 0 {
		opts.FamilyGrace = FamilyGrace
	}
	c := &Configuration{
		plan:   p,
		h:      h,
		att:    att,
		opts:   opts,
		exited: make(chan struct{}),
		added:  map[IPFamily]*familyAdded{},
		failed: make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	initial := make(chan error, 1)
	go c.run(ctx, initial)
	if err := <-initial; err != nil {
		return nil, errors.Join(fmt.Errorf("configure %s: %w", p.Name, err), c.Undo())
	}
	return c, nil
}

// Failed is closed when configuring a family that attached after
// Configure returned has failed; Err says why. The tunnel's addresses or
// routes are then incomplete.
func (c *Configuration) Failed() <-chan struct{} { return c.failed }

// Err is why Failed was closed, or nil.
func (c *Configuration) Err() error {
	select {
	case <-c.failed:
		return c.err
	default:
		return nil
	}
}

func (c *Configuration) warnf(format string, args ...any) {
	if c.opts.Warn != nil {
		c.opts.Warn(fmt.Sprintf("%s: ", c.plan.Name) + fmt.Sprintf(format, args...))
	}
}

func (c *Configuration) logf(format string, args ...any) {
	if c.opts.Logf != nil {
		c.opts.Logf("%s: "+format, append([]any{c.plan.Name}, args...)...)
	}
}

// needed lists the families the plan has addresses or routes in.
func (c *Configuration) needed() []IPFamily {
	use := map[IPFamily]bool{}
	for _, a := range c.plan.Addresses {
		use[familyOf(a.Addr())] = true
	}
	for _, r := range c.plan.Routes {
		use[familyOf(r.Prefix.Addr())] = true
	}
	var out []IPFamily
	for _, f := range families {
		if use[f] {
			out = append(out, f)
		}
	}
	return out
}

// run configures families as they attach until Undo. It sends the
// outcome of the first round (see Configure) on initial, once.
func (c *Configuration) run(ctx context.Context, initial chan<- error) {
	defer close(c.exited)
	reported := false
	report := func(err error) {
		if !reported {
			reported = true
			initial <- err
		}
	}
	waiting := map[IPFamily]bool{}
	for _, f := range c.needed() {
		if c.h.FamilyDisabled(f) {
			c.warnf("%s is disabled on this machine: the tunnel's %s addresses and routes are left out", f, f)
			continue
		}
		waiting[f] = true
	}
	start := time.Now()
	deadline := start.Add(c.opts.AttachTimeout)
	timer := time.NewTimer(c.opts.AttachTimeout)
	defer timer.Stop()
	attached := false
	attach := func(f IPFamily) error {
		err := c.configureFamily(f)
		if errors.Is(err, errAbsent) {
			return nil
		}
		if err != nil {
			return err
		}
		delete(waiting, f)
		if !attached {
			attached = true
			if d := time.Now().Add(c.opts.FamilyGrace); d.Before(deadline) {
				deadline = d
				timer.Reset(time.Until(d))
			}
		}
		return nil
	}
	// The adapter's IP interfaces may already exist (an adapter that was
	// not new); later ones arrive through att.
	for _, f := range families {
		if err := attach(f); err != nil {
			report(err)
			return
		}
	}
	for {
		if len(waiting) == 0 {
			report(nil)
		}
		var ctxDone <-chan struct{}
		var timeout <-chan time.Time
		if !reported {
			ctxDone, timeout = ctx.Done(), timer.C
		}
		select {
		case <-c.ctx.Done():
			report(context.Canceled)
			return
		case <-ctxDone:
			report(ctx.Err())
			return
		case <-timeout:
			if !attached {
				report(fmt.Errorf("%w within %v", ErrNotAttached, c.opts.AttachTimeout))
				return
			}
			for _, f := range families {
				if waiting[f] {
					c.warnf("TCP/IP has not attached %s to the adapter within %v of the first family: going on without the tunnel's %s addresses and routes for now", f, c.opts.FamilyGrace, f)
				}
			}
			clear(waiting)
		case <-c.att.Ready():
			for _, f := range c.att.Take() {
				if err := attach(f); err != nil {
					if !reported {
						report(err)
					} else {
						c.err = fmt.Errorf("configure %s: %w", c.plan.Name, err)
						close(c.failed)
					}
					return
				}
			}
		}
	}
}

// configureFamily configures family f, retrying early in boot while the
// system reports parts of it missing. A failed attempt undoes what it
// added. errAbsent means f is not attached.
func (c *Configuration) configureFamily(f IPFamily) error {
	transient := func(err error) bool { return errors.Is(err, ErrNotFound) && !errors.Is(err, errAbsent) }
	return c.opts.Boot.Do(c.ctx, "configuring "+f.String()+" on "+c.plan.Name, transient, func() error {
		err := c.configureOnce(f)
		if err != nil && !errors.Is(err, errAbsent) {
			err = errors.Join(err, c.undoFamily(f))
		}
		return err
	})
}

// configureOnce sets f's interface row, then adds f's addresses, routes
// and DNS servers. Everything it does is idempotent: a family reported
// attached twice is configured twice to the same result.
func (c *Configuration) configureOnce(f IPFamily) error {
	p := c.plan
	row, err := c.h.Interface(f)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%s: %w", f, errAbsent)
	}
	if err != nil {
		return fmt.Errorf("read %s interface: %w", f, err)
	}
	// An IPv6 interface cannot go below IPv6's minimum MTU; the plan only
	// allows a smaller MTU when the tunnel carries no IPv6.
	if f == FamilyIPv4 || p.MTU >= MinMTUIPv6 {
		row.MTU = uint32(p.MTU)
	}
	row.AutomaticMetric = false
	row.Metric = InterfaceMetric
	row.RouterDiscovery = false
	row.DADTransmits = 0
	row.ManagedAddressConfiguration = false
	row.OtherStatefulConfiguration = false
	if err := c.h.SetInterface(f, row); err != nil {
		return fmt.Errorf("set %s interface MTU %d and metric %d: %w", f, row.MTU, row.Metric, err)
	}
	st := c.added[f]
	if st == nil {
		st = &familyAdded{}
		c.added[f] = st
		c.order = append(c.order, f)
	}
	naddr, nroute := 0, 0
	for _, a := range p.Addresses {
		if familyOf(a.Addr()) != f {
			continue
		}
		if err := c.addAddress(a); err != nil {
			return err
		}
		if !slices.Contains(st.addrs, a) {
			st.addrs = append(st.addrs, a)
		}
		naddr++
	}
	for _, r := range p.Routes {
		if familyOf(r.Prefix.Addr()) != f {
			continue
		}
		// A route exists per interface: "already exists" is this one's.
		if err := c.h.AddRoute(r); err != nil && !errors.Is(err, ErrAlreadyExists) {
			return fmt.Errorf("add route %v: %w", r.Prefix, err)
		}
		if !slices.Contains(st.routes, r) {
			st.routes = append(st.routes, r)
		}
		nroute++
	}
	if len(p.DNS) > 0 || len(p.DNSSearch) > 0 {
		st.dns = true
		if err := c.h.SetDNS(f, p.DNS, p.DNSSearch); err != nil {
			return fmt.Errorf("set %s DNS: %w", f, err)
		}
	}
	c.logf("%s configured: MTU %d, %d addresses, %d routes", f, row.MTU, naddr, nroute)
	return nil
}

// addAddress adds a. If the system says it exists already and it is not
// on the tunnel's adapter, the disconnected adapters that still hold it
// (left behind by a crash) lose it, and the add is tried again.
func (c *Configuration) addAddress(a netip.Prefix) error {
	err := c.h.AddAddress(a)
	if err == nil || !errors.Is(err, ErrAlreadyExists) {
		if err != nil {
			return fmt.Errorf("add address %v: %w", a, err)
		}
		return nil
	}
	holders, herr := c.h.AddressHolders(a.Addr())
	if herr != nil {
		return fmt.Errorf("add address %v: %w (listing the adapters that hold it: %w)", a, err, herr)
	}
	var connected []string
	for _, h := range holders {
		if h.Ours {
			return nil
		}
		if h.Up {
			connected = append(connected, fmt.Sprintf("%q", h.Name))
		}
	}
	for _, h := range holders {
		if h.Up {
			continue
		}
		c.warnf("removing stale address %v from disconnected adapter %q (left there by an earlier run)", h.Prefix, h.Name)
		if err := c.h.DeleteHeld(h); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("add address %v: remove it from disconnected adapter %q: %w", a, h.Name, err)
		}
	}
	if err := c.h.AddAddress(a); err != nil {
		if errors.Is(err, ErrAlreadyExists) && len(connected) > 0 {
			return fmt.Errorf("add address %v: %w (%s): %w", a, ErrAddressInUse, strings.Join(connected, ", "), err)
		}
		return fmt.Errorf("add address %v after removing stale copies: %w", a, err)
	}
	return nil
}

// undoFamily removes f's DNS servers, routes and addresses that were
// added, newest first. Objects already gone are not errors.
func (c *Configuration) undoFamily(f IPFamily) error {
	st := c.added[f]
	if st == nil {
		return nil
	}
	var errs []error
	if st.dns {
		if err := c.h.FlushDNS(f); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("flush %s DNS: %w", f, err))
		}
		st.dns = false
	}
	for i := len(st.routes) - 1; i >= 0; i-- {
		r := st.routes[i]
		if err := c.h.DeleteRoute(r); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("delete route %v: %w", r.Prefix, err))
		}
	}
	st.routes = nil
	for i := len(st.addrs) - 1; i >= 0; i-- {
		a := st.addrs[i]
		if err := c.h.DeleteAddress(a); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("delete address %v: %w", a, err))
		}
	}
	st.addrs = nil
	return errors.Join(errs...)
}

// Undo stops following attachments and removes the DNS servers, routes
// and addresses added, the last family configured first. It reports every
// failure and goes on regardless. Idempotent.
func (c *Configuration) Undo() error {
	if c == nil {
		return nil
	}
	c.undoOnce.Do(func() {
		c.cancel()
		<-c.exited
		var errs []error
		for i := len(c.order) - 1; i >= 0; i-- {
			if err := c.undoFamily(c.order[i]); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			c.undoErr = fmt.Errorf("undo configuration of %s: %w", c.plan.Name, errors.Join(errs...))
		}
	})
	return c.undoErr
}
