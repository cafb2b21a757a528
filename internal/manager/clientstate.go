package manager

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/warren-vpn/warren/internal/atomicfile"
	"github.com/warren-vpn/warren/internal/noise"
)

// clientsFileName holds, in the state directory, each tunnel's client
// settings and what the manager knows of the clients it added: names,
// expiry, and the [Peer] sections of disabled clients (with their
// preshared keys: the file is 0600 in a 0700 directory, as the
// configurations are). Never a client's private key.
const clientsFileName = "clients.json"

// clientsFile is clients.json.
type clientsFile struct {
	Version int                     `json:"version"`
	Tunnels map[string]*tunnelState `json:"tunnels,omitempty"`
}

// tunnelState is one tunnel's part of clients.json.
type tunnelState struct {
	Settings *ClientSettings `json:"settings,omitempty"`
	// Clients by public key (base64).
	Clients map[string]*clientRecord `json:"clients,omitempty"`
}

// clientRecord is what the manager keeps of a client it added.
type clientRecord struct {
	Name      string         `json:"name"`
	Addresses []netip.Prefix `json:"addresses"`
	Created   time.Time      `json:"created"`
	Expires   time.Time      `json:"expires,omitzero"`
	// Disabled is set while the client is disabled: its [Peer] section
	// lives here, not in the configuration.
	Disabled *disabledPeer `json:"disabled,omitempty"`
}

// disabledPeer is a disabled client's [Peer] section, out of the
// configuration so that nothing that reads the file (warren up, wg
// setconf, SaveConfig) can bring it back.
type disabledPeer struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"` // "expired" or "disabled"
	// Block is the section's text with its "# Name = ..." comment, as it
	// was in the file.
	Block string `json:"block"`
}

// clientState guards clients.json. Changes read, modify and write the
// whole file under mu; the tunnel's lock orders them with the
// configuration's changes.
type clientState struct {
	path string
	mu   sync.Mutex
	// done is closed when the expiry loop has ended; wake makes it look
	// again at once (a client was added or enabled with an expiry).
	done chan struct{}
	wake chan struct{}
}

func (s *clientState) loadLocked() (*clientsFile, error) {
	f := &clientsFile{Version: 1, Tunnels: map[string]*tunnelState{}}
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read client state: %w", err)
	}
	defer clear(data)
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("read client state %s: %w", s.path, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("read client state %s: version %d is not one this warren knows", s.path, f.Version)
	}
	if f.Tunnels == nil {
		f.Tunnels = map[string]*tunnelState{}
	}
	return f, nil
}

func (s *clientState) saveLocked(f *clientsFile) error {
	for name, t := range f.Tunnels {
		if t.Settings == nil && len(t.Clients) == 0 {
			delete(f.Tunnels, name)
		}
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	defer clear(data)
	if err := atomicfile.WriteFile(s.path, data, 0o600); err != nil {
		return fmt.Errorf("save client state: %w", err)
	}
	return nil
}

// update runs fn on the state of tunnel and saves the result if fn
// returns nil.
func (s *clientState) update(tunnel string, fn func(t *tunnelState) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.loadLocked()
	if err != nil {
		return err
	}
	t := f.Tunnels[tunnel]
	if t == nil {
		t = &tunnelState{}
		f.Tunnels[tunnel] = t
	}
	if t.Clients == nil {
		t.Clients = map[string]*clientRecord{}
	}
	if err := fn(t); err != nil {
		return err
	}
	return s.saveLocked(f)
}

// read returns a copy of tunnel's state (empty if none).
func (s *clientState) read(tunnel string) (*tunnelState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.loadLocked()
	if err != nil {
		return nil, err
	}
	t := f.Tunnels[tunnel]
	if t == nil {
		t = &tunnelState{}
	}
	if t.Clients == nil {
		t.Clients = map[string]*clientRecord{}
	}
	return t, nil
}

// tunnels lists the tunnels that have state.
func (s *clientState) tunnels() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.loadLocked()
	if err != nil {
		return nil, err
	}
	var out []string
	for name := range f.Tunnels {
		out = append(out, name)
	}
	return out, nil
}

// drop forgets everything about tunnel (it was deleted).
func (s *clientState) drop(tunnel string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.loadLocked()
	if err != nil {
		return err
	}
	if _, ok := f.Tunnels[tunnel]; !ok {
		return nil
	}
	delete(f.Tunnels, tunnel)
	return s.saveLocked(f)
}

func newClientState(stateDir string) *clientState {
	return &clientState{path: filepath.Join(stateDir, clientsFileName), wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// keyOf is a public key as clients.json keys it.
func keyOf(pub noise.PublicKey) string { return pub.String() }
