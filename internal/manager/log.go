package manager

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/warren-vpn/warren/internal/ringlog"
)

// LogPoll is how often a followed log is checked for new lines.
const LogPoll = 250 * time.Millisecond

// OpenLog opens a log for reading: the device log of tunnel, or with ""
// the manager's own log (activations with what `warren up` and `warren
// down` printed, edits, logins). ErrNoLog when the tunnel has none.
func (m *Manager) OpenLog(tunnel string) (*ringlog.Reader, error) {
	if tunnel == "" {
		return ringlog.OpenReader(filepath.Join(m.stateDir, logFile))
	}
	if err := ValidName(tunnel); err != nil {
		return nil, err
	}
	return m.sys.OpenLog(tunnel)
}

// FollowLog calls emit with every line of a log (see OpenLog), then with
// each new line until ctx is done (it then returns nil) or emit fails.
func (m *Manager) FollowLog(ctx context.Context, tunnel string, emit func(ringlog.Line) error) error {
	r, err := m.OpenLog(tunnel)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := ringlog.Follow(ctx, r, LogPoll, emit); err != nil {
		return fmt.Errorf("follow log: %w", err)
	}
	return nil
}
