package manager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
)

// MaxConfigSize bounds a configuration the manager accepts (a
// configuration of 10,000 peers is about 2 MB).
const MaxConfigSize = 4 << 20

// applyTimeout bounds resolving endpoints and configuring a running
// device for one edit.
const applyTimeout = 30 * time.Second

// validate parses data as name's configuration and checks it against the
// manager's rules; warnings are conf's remarks (in wg's words, with the
// line). old is the current file (nil for a new tunnel): hooks that differ
// from its are refused unless allowed.
func (m *Manager) validate(name string, data []byte, old *conf.File) (*conf.File, []string, error) {
	if len(data) > MaxConfigSize {
		return nil, nil, &ConfigError{Msg: fmt.Sprintf("larger than %d bytes", MaxConfigSize)}
	}
	var warnings []string
	f, err := conf.Parse(name+".conf", data, conf.Options{Quick: true, Warn: func(msg string) { warnings = append(warnings, msg) }})
	if err != nil {
		var pe *conf.ParseError
		if errors.As(err, &pe) {
			return nil, nil, &ConfigError{Line: pe.Line, Msg: pe.Err.Error()}
		}
		return nil, nil, &ConfigError{Msg: err.Error()}
	}
	if f.Interface.PrivateKey == nil {
		return nil, nil, &ConfigError{Msg: "[Interface] has no PrivateKey"}
	}
	if !m.allowHooks && !sameHooks(f, old) {
		return nil, nil, fmt.Errorf("%w: this configuration adds or changes PreUp, PostUp, PreDown or PostDown commands; the manager was not started with --allow-hooks", ErrHooks)
	}
	return f, warnings, nil
}

// hooks lists a file's hook commands by kind.
func hooks(f *conf.File) [4][]string {
	if f == nil {
		return [4][]string{}
	}
	in := &f.Interface
	return [4][]string{in.PreUp, in.PostUp, in.PreDown, in.PostDown}
}

// sameHooks reports whether f runs the same commands as old (no file: no
// commands).
func sameHooks(f, old *conf.File) bool {
	a, b := hooks(f), hooks(old)
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// ImportResult says what an import did.
type ImportResult struct {
	// Warnings are conf's remarks about the file (it was stored anyway).
	Warnings []string
}

// Import stores a new tunnel's configuration after validating it (see
// ConfigError for what is wrong and where). ErrExists if a configuration
// by that name exists; a running interface without one gains it.
func (m *Manager) Import(name string, data []byte) (*ImportResult, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	unlock, err := m.lock(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := m.store.Read(name); err == nil {
		return nil, fmt.Errorf("tunnel %s: %w", name, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	_, warnings, err := m.validate(name, data, nil)
	if err != nil {
		return nil, err
	}
	if err := m.store.Write(name, data); err != nil {
		return nil, err
	}
	m.forget(name)
	m.Logf(LogTagTunnel, "imported %s", name)
	return &ImportResult{Warnings: warnings}, nil
}

// EditResult says what an edit did.
type EditResult struct {
	// Applied: the tunnel runs and the change was applied to it as `wg
	// syncconf` would (keys, port, fwmark, peers; sessions of unchanged
	// peers kept).
	Applied bool
	// RestartNeeded names what changed that only takes effect when the
	// tunnel is deactivated and activated again (addresses, DNS, MTU,
	// table, routes for changed AllowedIPs, PreUp/PostUp).
	RestartNeeded []string
	Warnings      []string
}

// Update replaces name's configuration after validating it, and applies
// it to the running tunnel. Nothing is half done: endpoints are resolved
// before the file is written, and if the running device refuses the
// change the old file is put back.
func (m *Manager) Update(ctx context.Context, name string, data []byte) (*EditResult, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	unlock, err := m.lock(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	oldData, err := m.store.Read(name)
	if errors.Is(err, ErrNotFound) && m.running(name) {
		return nil, fmt.Errorf("tunnel %s: %w", name, ErrReadOnly)
	}
	if err != nil {
		return nil, err
	}
	defer clear(oldData)
	old, _ := parseConfig(name, oldData) // an unparsable old file has no hooks to keep
	f, warnings, err := m.validate(name, data, old)
	if err != nil {
		return nil, err
	}
	res := &EditResult{Warnings: warnings}
	if err := m.writeAndApply(ctx, name, data, oldData, f, old, res); err != nil {
		return nil, err
	}
	m.Logf(LogTagTunnel, "edited %s (applied to the running tunnel: %v)", name, res.Applied)
	return res, nil
}

// writeAndApply writes data as name's configuration and, if the tunnel
// runs, applies f to it (restoring oldData if that fails).
func (m *Manager) writeAndApply(ctx context.Context, name string, data, oldData []byte, f, old *conf.File, res *EditResult) error {
	dev, devErr := m.sys.Device(name)
	if devErr != nil {
		// Not running: the file is all there is to change.
		if err := m.store.Write(name, data); err != nil {
			return err
		}
		m.forget(name)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	cfg, err := conf.Strip(f).WireGuardConfig(ctx, m.resolver, true)
	if err != nil {
		return &ConfigError{Msg: err.Error()}
	}
	if err := m.store.Write(name, data); err != nil {
		return err
	}
	m.forget(name)
	conf.Sync(cfg, dev)
	if err := m.sys.Configure(name, cfg); err != nil {
		if rerr := m.store.Write(name, oldData); rerr != nil {
			return fmt.Errorf("apply to running tunnel %s: %w (and restoring the old file: %w)", name, err, rerr)
		}
		m.forget(name)
		return fmt.Errorf("apply to running tunnel %s (the old file is back): %w", name, err)
	}
	res.Applied = true
	res.RestartNeeded = restartNeeded(old, f)
	return nil
}

// restartNeeded lists what changed between old and f that a running
// tunnel only picks up when brought up again.
func restartNeeded(old, f *conf.File) []string {
	if old == nil {
		return []string{"everything (the previous file did not parse)"}
	}
	a, b := &old.Interface, &f.Interface
	var out []string
	if !slices.Equal(a.Addresses, b.Addresses) {
		out = append(out, "Address")
	}
	if !slices.Equal(a.DNS, b.DNS) || !slices.Equal(a.DNSSearch, b.DNSSearch) {
		out = append(out, "DNS")
	}
	if a.MTU != b.MTU {
		out = append(out, "MTU")
	}
	if a.Table != b.Table {
		out = append(out, "Table")
	}
	if !equalPtr(a.FwMark, b.FwMark) && b.Table != "off" {
		out = append(out, "FwMark (policy routing)")
	}
	if !slices.Equal(a.PreUp, b.PreUp) || !slices.Equal(a.PostUp, b.PostUp) {
		out = append(out, "PreUp/PostUp")
	}
	if b.Table != "off" && !slices.Equal(routeSet(old), routeSet(f)) {
		out = append(out, "routes for the changed AllowedIPs")
	}
	return out
}

// routeSet is the sorted set of a file's AllowedIPs, masked: what
// wg-quick adds routes for.
func routeSet(f *conf.File) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range f.Peers {
		for _, a := range p.AllowedIPs {
			out = append(out, a.Masked())
		}
	}
	slices.SortFunc(out, func(x, y netip.Prefix) int {
		if c := x.Addr().Compare(y.Addr()); c != 0 {
			return c
		}
		return x.Bits() - y.Bits()
	})
	return slices.Compact(out)
}

// Delete deactivates the tunnel if it runs and removes its
// configuration. out is what `warren down` printed, if it ran.
func (m *Manager) Delete(ctx context.Context, name string) (out string, err error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	unlock, err := m.lock(name)
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := m.store.Read(name); err != nil {
		if errors.Is(err, ErrNotFound) && m.running(name) {
			return "", fmt.Errorf("tunnel %s: %w", name, ErrReadOnly)
		}
		return "", err
	}
	if m.running(name) {
		out, err = m.down(ctx, name)
		if err != nil {
			return out, err
		}
	}
	if err := m.store.Delete(name); err != nil {
		return out, err
	}
	m.forget(name)
	m.dropClients(name)
	m.Logf(LogTagTunnel, "deleted %s", name)
	return out, nil
}

// SetPeerName names a peer of name's configuration ("" removes the name),
// changing nothing else in the file.
func (m *Manager) SetPeerName(name string, pub noise.PublicKey, peerName string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	unlock, err := m.lock(name)
	if err != nil {
		return err
	}
	defer unlock()
	data, err := m.store.Read(name)
	if errors.Is(err, ErrNotFound) && m.running(name) {
		return fmt.Errorf("tunnel %s: %w", name, ErrReadOnly)
	}
	if err != nil {
		return err
	}
	defer clear(data)
	out, err := conf.SetPeerName(data, conf.Options{Quick: true}, pub, peerName)
	switch {
	case errors.Is(err, conf.ErrNoPeer):
		return fmt.Errorf("peer %s of %s: %w", pub, name, ErrNotFound)
	case errors.Is(err, conf.ErrPeerName):
		return &ConfigError{Msg: err.Error()}
	case err != nil:
		return &ConfigError{Msg: err.Error()}
	}
	defer clear(out)
	if bytes.Equal(out, data) {
		return nil
	}
	if err := m.store.Write(name, out); err != nil {
		return err
	}
	m.forget(name)
	m.Logf(LogTagTunnel, "named peer %s of %s", pub, name)
	return nil
}

func equalPtr[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}
