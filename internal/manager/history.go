package manager

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/warren-vpn/warren/internal/history"
	"github.com/warren-vpn/warren/internal/noise"
)

// historyFile is the traffic history database in the state directory.
const historyFile = "history.db"

// ErrNoHistory: the manager keeps no traffic history (Options.History
// is off).
var ErrNoHistory = errors.New("no traffic history kept")

// recorder hands snapshots to the history store on a goroutine of its
// own, in order: Record writes to disk once per bucket, and the sampler
// must not wait for it. Should the store fall behind by recorderBacklog
// snapshots, new ones are dropped until it catches up (the counters are
// cumulative: a skipped snapshot loses no traffic, only resolution).
type recorder struct {
	store *history.Store
	ch    chan *Snapshot
	done  chan struct{}
	logf  func(format string, args ...any)
}

// recorderBacklog is how many snapshots may wait for the history store.
const recorderBacklog = 64

func startRecorder(store *history.Store, logf func(string, ...any)) *recorder {
	r := &recorder{store: store, ch: make(chan *Snapshot, recorderBacklog), done: make(chan struct{}), logf: logf}
	go r.run()
	return r
}

// Sample implements Subscriber.
func (r *recorder) Sample(s *Snapshot) {
	select {
	case r.ch <- s:
	default:
	}
}

func (r *recorder) run() {
	defer close(r.done)
	var lastErr string
	for s := range r.ch {
		err := r.store.Record(s.Time, s.Devices)
		switch {
		case err != nil && err.Error() != lastErr:
			r.logf("traffic history: %v", err)
			lastErr = err.Error()
		case err == nil && lastErr != "":
			r.logf("traffic history: recording again")
			lastErr = ""
		}
	}
}

// stop records what is waiting, then flushes and closes the store.
func (r *recorder) stop() error {
	close(r.ch)
	<-r.done
	return errors.Join(r.store.Flush(), r.store.Close())
}

// openHistory opens the history database in the state directory and
// subscribes a recorder to the sampler.
func (m *Manager) openHistory() error {
	store, err := history.Open(filepath.Join(m.stateDir, historyFile), history.Options{})
	if err != nil {
		return err
	}
	m.recorder = startRecorder(store, func(format string, args ...any) { m.Logf(LogTagManager, format, args...) })
	m.unsubscribeHistory = m.sampler.Subscribe(m.recorder)
	return nil
}

// HistoryRanges are the ranges of traffic history the UI offers.
var HistoryRanges = map[string]time.Duration{
	"hour":  time.Hour,
	"day":   24 * time.Hour,
	"month": 30 * 24 * time.Hour,
}

// History returns the traffic of one tunnel (peer nil: all its peers,
// removed ones included) or one of its peers over the last span, from the
// history that survives restarts.
func (m *Manager) History(tunnel string, peer *noise.PublicKey, span time.Duration) (*history.Series, error) {
	if err := ValidName(tunnel); err != nil {
		return nil, err
	}
	if m.recorder == nil {
		return nil, ErrNoHistory
	}
	s, err := m.recorder.store.Query(history.Query{Interface: tunnel, Peer: peer, Last: span, Now: m.now()})
	if err != nil {
		return nil, fmt.Errorf("traffic history of %s: %w", tunnel, err)
	}
	return s, nil
}
