package manager

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// activateTimeout bounds one `warren up` or `warren down` (resolving
// endpoints, hooks, a device that is slow to start).
const activateTimeout = 2 * time.Minute

// ActionResult is what activating or deactivating did.
type ActionResult struct {
	// Output is what `warren up` or `warren down` printed ("[#] ..." lines
	// and warnings); empty when there was nothing to do.
	Output string
	// Warnings are conflicts with the other running tunnels (activation
	// only). They do not stop the tunnel.
	Warnings []Warning
}

// Activate brings the tunnel up from its stored configuration, through
// the same code as `warren up`. A tunnel already running is left as it is.
func (m *Manager) Activate(ctx context.Context, name string) (*ActionResult, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	unlock, err := m.lock(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := m.store.Read(name); err != nil {
		if errors.Is(err, ErrNotFound) && m.running(name) {
			return nil, fmt.Errorf("tunnel %s: %w", name, ErrReadOnly)
		}
		return nil, err
	}
	if m.running(name) {
		return &ActionResult{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, activateTimeout)
	defer cancel()
	out, err := m.sys.Up(ctx, name)
	m.logOutput(LogTagUp, name, out)
	res := &ActionResult{Output: out}
	if err != nil {
		m.Logf(LogTagUp, "activating %s failed: %v", name, err)
		return res, fmt.Errorf("activate %s: %w: %w", name, ErrActivate, err)
	}
	m.Logf(LogTagUp, "activated %s", name)
	if ws, err := m.WarningsFor(name); err == nil {
		res.Warnings = ws
	}
	return res, nil
}

// Deactivate takes the tunnel down through the same code as `warren
// down`. A tunnel not running is left as it is.
func (m *Manager) Deactivate(ctx context.Context, name string) (*ActionResult, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	unlock, err := m.lock(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := m.store.Read(name); err != nil {
		if errors.Is(err, ErrNotFound) && m.running(name) {
			return nil, fmt.Errorf("tunnel %s: %w", name, ErrReadOnly)
		}
		return nil, err
	}
	if !m.running(name) {
		return &ActionResult{}, nil
	}
	out, err := m.down(ctx, name)
	return &ActionResult{Output: out}, err
}

// down runs Down for name (whose lock the caller holds) and logs it.
func (m *Manager) down(ctx context.Context, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, activateTimeout)
	defer cancel()
	out, err := m.sys.Down(ctx, name)
	m.logOutput(LogTagDown, name, out)
	if err != nil {
		m.Logf(LogTagDown, "deactivating %s failed: %v", name, err)
		return out, fmt.Errorf("deactivate %s: %w: %w", name, ErrActivate, err)
	}
	m.Logf(LogTagDown, "deactivated %s", name)
	return out, nil
}

// logOutput copies what a tool printed to the manager's log, a line at a
// time, prefixed with the tunnel's name.
func (m *Manager) logOutput(tag, name, out string) {
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) != "" {
			m.Logf(tag, "%s: %s", name, line)
		}
	}
}
