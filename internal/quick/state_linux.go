package quick

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/warren-vpn/warren/internal/safedir"
)

// stateDir holds what up has set up for each interface, so that down (or
// a rollback) can undo exactly that even when the device is gone.
const stateDir = "/run/warren/quick"

// ensureStateDir creates stateDir, or checks the one there, with
// safedir.Ensure: root's own, 0700, no symlinks, nobody else may write it
// or a directory above it (a planted record could make down delete or
// signal what it names).
func ensureStateDir() error {
	if err := safedir.Ensure(stateDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	return nil
}

// state is the record of one tunnel's setup. It is written after every
// step of up, so a crash mid-way leaves enough for down to clean up.
type state struct {
	// Started is set once the device was started: its link is ours to delete.
	Started bool `json:"started,omitempty"`
	// PID is the userspace device's process, 0 if unknown, and PIDStart
	// its start time (see procStart): a PID alone may have been reused by
	// another process by the time down runs.
	PID      int    `json:"pid,omitempty"`
	PIDStart uint64 `json:"pid_start,omitempty"`
	// Watcher is the endpoint watcher's process, 0 if none, and
	// WatcherStart its start time.
	Watcher      int    `json:"watcher,omitempty"`
	WatcherStart uint64 `json:"watcher_start,omitempty"`
	// Table is the policy routing table and fwmark of a full tunnel.
	Table int `json:"table,omitempty"`
	// Rules lists the address families (4, 6) given policy rules.
	Rules []int `json:"rules,omitempty"`
	// Firewall is "nft" or "iptables" once firewall rules were added.
	Firewall string `json:"firewall,omitempty"`
	// DNS is how DNS was set: "resolvconf", "resolved" or "file".
	DNS string `json:"dns,omitempty"`
	// ResolvconfName is the record name given to resolvconf.
	ResolvconfName string `json:"resolvconf_name,omitempty"`
}

func statePath(iface string) string { return filepath.Join(stateDir, iface+".json") }

// loadState reads the record for iface; nil, nil when there is none.
func loadState(iface string) (*state, error) {
	data, err := safedir.ReadFile(statePath(iface))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", iface, err)
	}
	st := &state{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("read state of %s: %w", iface, err)
	}
	return st, nil
}

// save writes the record atomically.
func (st *state) save(iface string) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("save state of %s: %w", iface, err)
	}
	if err := ensureStateDir(); err != nil {
		return fmt.Errorf("save state of %s: %w", iface, err)
	}
	if err := writeFileAtomic(statePath(iface), data, 0o600); err != nil {
		return fmt.Errorf("save state of %s: %w", iface, err)
	}
	return nil
}

func removeState(iface string) error {
	if err := os.Remove(statePath(iface)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove state of %s: %w", iface, err)
	}
	return nil
}
