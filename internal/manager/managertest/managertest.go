// Package managertest provides in-memory fakes of the manager's OS seams
// (manager.System and manager.Store) for tests of the manager and of the
// front ends built on it. Nothing here touches the operating system.
package managertest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/ringlog"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// ErrNoDevice is what the fake returns for an interface that is not up.
var ErrNoDevice = errors.New("no such device")

// Store is a manager.Store in memory.
type Store struct {
	mu    sync.Mutex
	files map[string][]byte
	mod   map[string]time.Time
	// WriteErr, if set, fails every Write.
	WriteErr error
	// Writes counts the writes.
	Writes int
}

// NewStore returns an empty Store.
func NewStore() *Store { return &Store{files: map[string][]byte{}, mod: map[string]time.Time{}} }

// List implements manager.Store.
func (s *Store) List() ([]manager.StoredConfig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []manager.StoredConfig
	for name, data := range s.files {
		out = append(out, manager.StoredConfig{Name: name, ModTime: s.mod[name], Size: int64(len(data))})
	}
	slices.SortFunc(out, func(a, b manager.StoredConfig) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Read implements manager.Store.
func (s *Store) Read(name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.files[name]
	if !ok {
		return nil, fmt.Errorf("configuration %s: %w", name, manager.ErrNotFound)
	}
	return slices.Clone(data), nil
}

// Write implements manager.Store.
func (s *Store) Write(name string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.WriteErr != nil {
		return s.WriteErr
	}
	s.Writes++
	s.files[name] = slices.Clone(data)
	// Every write is a new version, even within one clock tick.
	s.mod[name] = time.Unix(0, int64(s.Writes))
	return nil
}

// Delete implements manager.Store.
func (s *Store) Delete(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.files[name]; !ok {
		return fmt.Errorf("configuration %s: %w", name, manager.ErrNotFound)
	}
	delete(s.files, name)
	delete(s.mod, name)
	return nil
}

// System is a manager.System whose devices live in memory: Up makes a
// device from the stored configuration as `warren up` would configure it,
// Down removes it, Configure applies a UAPI set to it.
type System struct {
	Store *Store
	// LogDir holds the tunnels' ring logs, NAME.log (see Log).
	LogDir string

	mu      sync.Mutex
	devices map[string]*wgtypes.Device
	// UpErr and DownErr, if set, fail Up and Down (after printing).
	UpErr, DownErr error
	// ConfigureErr, if set, fails Configure without applying anything.
	ConfigureErr error
	// Calls records "up NAME", "down NAME", "configure NAME".
	Calls []string
	// Block, if not nil, makes Up wait for it to be closed (or ctx).
	Block chan struct{}
}

// NewSystem returns a System over store with logs in logDir.
func NewSystem(store *Store, logDir string) *System {
	return &System{Store: store, LogDir: logDir, devices: map[string]*wgtypes.Device{}}
}

// Interfaces implements manager.System.
func (s *System) Interfaces() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.devices {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

// Device implements manager.System, returning a deep copy.
func (s *System) Device(name string) (*wgtypes.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrNoDevice)
	}
	return copyDevice(d), nil
}

func copyDevice(d *wgtypes.Device) *wgtypes.Device {
	c := *d
	c.Peers = slices.Clone(d.Peers)
	for i := range c.Peers {
		c.Peers[i].AllowedIPs = slices.Clone(c.Peers[i].AllowedIPs)
	}
	return &c
}

// AddDevice puts a running device in place (one no configuration backs,
// or one brought up behind the manager's back).
func (s *System) AddDevice(name string, d *wgtypes.Device) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.devices[name] = copyDevice(d)
}

// SetStats sets a running peer's counters and latest handshake.
func (s *System) SetStats(name string, pub noise.PublicKey, rx, tx uint64, handshake time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.devices[name]
	if d == nil {
		return
	}
	for i := range d.Peers {
		if d.Peers[i].PublicKey == pub {
			d.Peers[i].RxBytes, d.Peers[i].TxBytes, d.Peers[i].LastHandshakeTime = rx, tx, handshake
		}
	}
}

// Configure implements manager.System.
func (s *System) Configure(name string, cfg *wgtypes.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Calls = append(s.Calls, "configure "+name)
	if s.ConfigureErr != nil {
		return s.ConfigureErr
	}
	d, ok := s.devices[name]
	if !ok {
		return fmt.Errorf("%s: %w", name, ErrNoDevice)
	}
	apply(d, cfg)
	return nil
}

// apply applies a UAPI set as a device does.
func apply(d *wgtypes.Device, cfg *wgtypes.Config) {
	if cfg.PrivateKey != nil {
		d.PrivateKey = *cfg.PrivateKey
		d.PublicKey = noise.PublicKey{}
		if !d.PrivateKey.IsZero() {
			d.PublicKey = d.PrivateKey.PublicKey()
		}
	}
	if cfg.ListenPort != nil {
		d.ListenPort = *cfg.ListenPort
	}
	if cfg.FwMark != nil {
		d.FwMark = *cfg.FwMark
	}
	if cfg.ReplacePeers {
		d.Peers = nil
	}
	for _, pc := range cfg.Peers {
		i := slices.IndexFunc(d.Peers, func(p wgtypes.Peer) bool { return p.PublicKey == pc.PublicKey })
		if pc.Remove {
			if i >= 0 {
				d.Peers = slices.Delete(d.Peers, i, i+1)
			}
			continue
		}
		if i < 0 {
			if pc.UpdateOnly {
				continue
			}
			d.Peers = append(d.Peers, wgtypes.Peer{PublicKey: pc.PublicKey, ProtocolVersion: 1})
			i = len(d.Peers) - 1
		}
		p := &d.Peers[i]
		if pc.PresharedKey != nil {
			p.PresharedKey = *pc.PresharedKey
		}
		if pc.Endpoint != nil {
			p.Endpoint = *pc.Endpoint
		}
		if pc.PersistentKeepaliveInterval != nil {
			p.PersistentKeepaliveInterval = *pc.PersistentKeepaliveInterval
		}
		if pc.ReplaceAllowedIPs {
			p.AllowedIPs = nil
		}
		for _, a := range pc.AllowedIPs {
			if !slices.Contains(p.AllowedIPs, a) {
				p.AllowedIPs = append(p.AllowedIPs, a)
			}
		}
	}
}

// Up implements manager.System: it makes the device from the stored
// configuration (endpoints must be IP literals).
func (s *System) Up(ctx context.Context, name string) (string, error) {
	s.mu.Lock()
	s.Calls = append(s.Calls, "up "+name)
	block, upErr := s.Block, s.UpErr
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return "[#] interrupted", ctx.Err()
		}
	}
	out := "[#] warren daemon " + name
	if upErr != nil {
		return out, upErr
	}
	data, err := s.Store.Read(name)
	if err != nil {
		return "", err
	}
	f, err := conf.Parse(name, data, conf.Options{Quick: true})
	if err != nil {
		return "", err
	}
	cfg, err := conf.Strip(f).WireGuardConfig(ctx, &conf.Resolver{LookupNetIP: noLookup}, true)
	if err != nil {
		return "", err
	}
	d := &wgtypes.Device{}
	apply(d, cfg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.devices[name]; ok {
		return "", fmt.Errorf("`%s' already exists", name)
	}
	s.devices[name] = d
	return out + "\n[#] ip link set mtu 1420 up dev " + name, nil
}

func noLookup(context.Context, string) ([]netip.Addr, error) {
	return nil, errors.New("managertest: no name resolution")
}

// Down implements manager.System.
func (s *System) Down(ctx context.Context, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Calls = append(s.Calls, "down "+name)
	if s.DownErr != nil {
		return "[#] ip link delete dev " + name, s.DownErr
	}
	if _, ok := s.devices[name]; !ok {
		return "", fmt.Errorf("`%s' is not a WireGuard interface", name)
	}
	delete(s.devices, name)
	return "[#] ip link delete dev " + name, nil
}

// LogPath is where the fake keeps name's log.
func (s *System) LogPath(name string) string { return filepath.Join(s.LogDir, name+".log") }

// Log appends lines to name's log, as its device would.
func (s *System) Log(name string, lines ...string) error {
	l, err := ringlog.Open(s.LogPath(name), ringlog.Options{Lines: 64})
	if err != nil {
		return err
	}
	defer l.Close()
	for _, line := range lines {
		if err := l.Write("TUN", line); err != nil {
			return err
		}
	}
	return nil
}

// OpenLog implements manager.System.
func (s *System) OpenLog(name string) (*ringlog.Reader, error) {
	r, err := ringlog.OpenReader(s.LogPath(name))
	if err != nil {
		return nil, fmt.Errorf("tunnel %s: %w", name, manager.ErrNoLog)
	}
	return r, nil
}

// CallLog returns the calls so far.
func (s *System) CallLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.Calls)
}
