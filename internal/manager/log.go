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

// FollowLog calls emit with every line of a log, then with each new line
// until ctx is done (it then returns nil) or emit fails. tunnel names the
// tunnel whose device log to follow; "" is the manager's own log
// (activations with what `warren up` and `warren down` printed, edits,
// logins). ErrNoLog when the tunnel has no log.
func (m *Manager) FollowLog(ctx context.Context, tunnel string, emit func(ringlog.Line) error) error {
	var r *ringlog.Reader
	var err error
	if tunnel == "" {
		r, err = ringlog.OpenReader(filepath.Join(m.stateDir, logFile))
	} else {
		if err := ValidName(tunnel); err != nil {
			return err
		}
		r, err = m.sys.OpenLog(tunnel)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	if err := ringlog.Follow(ctx, r, LogPoll, emit); err != nil {
		return fmt.Errorf("follow log: %w", err)
	}
	return nil
}
