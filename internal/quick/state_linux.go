package quick

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// stateDir holds what up has set up for each interface, so that down (or
// a rollback) can undo exactly that even when the device is gone.
const stateDir = "/run/warren/quick"

// state is the record of one tunnel's setup. It is written after every
// step of up, so a crash mid-way leaves enough for down to clean up.
type state struct {
	// Started is set once the device was started: its link is ours to delete.
	Started bool `json:"started,omitempty"`
	// PID is the userspace device's process, 0 if unknown.
	PID int `json:"pid,omitempty"`
	// Watcher is the endpoint watcher's process, 0 if none.
	Watcher int `json:"watcher,omitempty"`
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
	data, err := os.ReadFile(statePath(iface))
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
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("save state of %s: %w", iface, err)
	}
	tmp := statePath(iface) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("save state of %s: %w", iface, err)
	}
	if err := os.Rename(tmp, statePath(iface)); err != nil {
		os.Remove(tmp)
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
