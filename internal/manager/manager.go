package manager

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/ringlog"
)

// Options configure a Manager.
type Options struct {
	// System and Store are the OS seams (Platform gives this platform's).
	System System
	Store  Store
	// StateDir holds the manager's own state: its accounts file, its log
	// and the setup link. New creates it (0700) and refuses one others
	// could write (ensurePrivateDir).
	StateDir string
	// AllowHooks lets imports and edits add or change PreUp, PostUp,
	// PreDown and PostDown commands. Off, a session in the UI cannot make
	// root run a command of its choosing.
	AllowHooks bool
	// SamplePeriod is how often the Sampler reads the devices
	// (DefaultSamplePeriod if zero).
	SamplePeriod time.Duration
	// Argon2 overrides DefaultArgon2 (tests use cheaper parameters).
	Argon2 *Argon2Params
	// Resolver resolves endpoints when an edit is applied to a running
	// tunnel; nil resolves through the system without retrying.
	Resolver *conf.Resolver
	// History keeps every peer's traffic in StateDir/history.db
	// (internal/history), recorded from the Sampler's snapshots, for
	// History to query.
	History bool
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Manager manages the tunnels of one machine. Its methods are safe for
// concurrent use.
type Manager struct {
	sys        System
	store      Store
	stateDir   string
	allowHooks bool
	resolver   *conf.Resolver
	now        func() time.Time

	accounts *Accounts
	log      *ringlog.Log
	sampler  *Sampler

	// busy holds who is changing a tunnel (lock).
	busyMu sync.Mutex
	busy   map[string]lockHolder

	cacheMu sync.Mutex
	cache   map[string]cachedConfig

	recorder           *recorder
	unsubscribeHistory func()

	clients *clientState // clients.go

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// cachedConfig is a parsed configuration, valid while the file's listing
// (modification time and size) is unchanged.
type cachedConfig struct {
	entry StoredConfig
	file  *conf.File
	err   error
}

// Log tags of the manager's own log.
const (
	LogTagManager = "MGR"  // starting, stopping, the sampler
	LogTagAuth    = "AUTH" // setup, logins, tokens
	LogTagTunnel  = "TUN"  // imports, edits, deletes, names
	LogTagUp      = "UP"   // what warren up printed
	LogTagDown    = "DOWN" // what warren down printed
)

// logFile is the manager's own ring log in the state directory.
const logFile = "manager.log"

// accountsFileName is the accounts file in the state directory.
const accountsFileName = "accounts.json"

// New starts a manager: it prepares the state directory, opens the
// accounts and the log, and starts the Sampler. Close stops it.
func New(opts Options) (*Manager, error) {
	if opts.System == nil || opts.Store == nil || opts.StateDir == "" {
		return nil, errors.New("manager: System, Store and StateDir are required")
	}
	if err := ensurePrivateDir(opts.StateDir); err != nil {
		return nil, fmt.Errorf("manager state directory: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	params := DefaultArgon2
	if opts.Argon2 != nil {
		params = *opts.Argon2
	}
	acc, err := openAccounts(filepath.Join(opts.StateDir, accountsFileName), params, now)
	if err != nil {
		return nil, err
	}
	rl, err := ringlog.Open(filepath.Join(opts.StateDir, logFile), ringlog.Options{})
	if err != nil {
		return nil, fmt.Errorf("manager log: %w", err)
	}
	resolver := opts.Resolver
	if resolver == nil {
		resolver = &conf.Resolver{}
	}
	m := &Manager{
		sys:        opts.System,
		store:      opts.Store,
		stateDir:   opts.StateDir,
		allowHooks: opts.AllowHooks,
		resolver:   resolver,
		now:        now,
		accounts:   acc,
		log:        rl,
		busy:       map[string]lockHolder{},
		cache:      map[string]cachedConfig{},
		done:       make(chan struct{}),
	}
	m.sampler = newSampler(opts.System, m.peerNames, now, opts.SamplePeriod)
	if opts.History {
		if err := m.openHistory(); err != nil {
			rl.Close()
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.startClients(ctx)
	go func() {
		defer close(m.done)
		m.sampler.run(ctx)
	}()
	return m, nil
}

// Close stops the sampler, the history (flushing what it holds) and the
// log.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		m.cancel()
		<-m.done
		m.stopClients()
		var errs []error
		if m.recorder != nil {
			m.unsubscribeHistory()
			errs = append(errs, m.recorder.stop())
		}
		errs = append(errs, m.log.Close())
		m.closeErr = errors.Join(errs...)
	})
	return m.closeErr
}

// Accounts is the administrator's password and the API tokens.
func (m *Manager) Accounts() *Accounts { return m.accounts }

// Sampler is the one reader of the devices' statistics.
func (m *Manager) Sampler() *Sampler { return m.sampler }

// StateDir is the manager's state directory.
func (m *Manager) StateDir() string { return m.stateDir }

// Logf writes a line to the manager's log under tag. Never pass secrets.
func (m *Manager) Logf(tag, format string, args ...any) {
	m.log.Logf(tag, format, args...)
}

// lock marks name busy for one change; ErrBusy if it already is.
func (m *Manager) lock(name string) (unlock func(), err error) {
	return m.lockAs(name, holderChange)
}

// lockHolder is who holds a tunnel's lock.
type lockHolder int

const (
	// holderChange: an activation, deactivation or edit, which may take
	// long; another change meanwhile fails as busy.
	holderChange lockHolder = iota + 1
	// holderExpiry: the expiry check (expiry.go), which holds a tunnel
	// briefly; a change waits for it rather than fail.
	holderExpiry
)

// lockAs is lock on behalf of h. A tunnel the expiry check holds is
// waited for, up to expiryLockWait: an administrator's change does not
// fail as busy because a background check happened to run.
func (m *Manager) lockAs(name string, h lockHolder) (unlock func(), err error) {
	deadline := time.Now().Add(expiryLockWait)
	for {
		m.busyMu.Lock()
		cur, held := m.busy[name]
		if !held {
			m.busy[name] = h
			m.busyMu.Unlock()
			return func() {
				m.busyMu.Lock()
				delete(m.busy, name)
				m.busyMu.Unlock()
			}, nil
		}
		m.busyMu.Unlock()
		if cur != holderExpiry || time.Now().After(deadline) {
			return nil, fmt.Errorf("tunnel %s: %w", name, ErrBusy)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// configs returns every stored configuration, parsed (from the cache
// while a file's listing is unchanged).
func (m *Manager) configs() (map[string]cachedConfig, error) {
	list, err := m.store.List()
	if err != nil {
		return nil, err
	}
	m.cacheMu.Lock()
	defer m.cacheMu.Unlock()
	out := make(map[string]cachedConfig, len(list))
	for _, e := range list {
		c, ok := m.cache[e.Name]
		if !ok || !c.entry.ModTime.Equal(e.ModTime) || c.entry.Size != e.Size {
			c = cachedConfig{entry: e}
			data, err := m.store.Read(e.Name)
			if err != nil {
				c.err = err
			} else {
				c.file, c.err = parseConfig(e.Name, data)
				clear(data)
			}
			m.cache[e.Name] = c
		}
		out[e.Name] = c
	}
	for name := range m.cache {
		if _, ok := out[name]; !ok {
			delete(m.cache, name)
		}
	}
	return out, nil
}

// forget drops name from the cache after the manager changed its file
// (a change within the file system's timestamp resolution could keep the
// same listing).
func (m *Manager) forget(name string) {
	m.cacheMu.Lock()
	delete(m.cache, name)
	m.cacheMu.Unlock()
}

// peerNames are the peers' names of every stored configuration.
func (m *Manager) peerNames() map[string]map[noise.PublicKey]string {
	cfgs, err := m.configs()
	out := map[string]map[noise.PublicKey]string{}
	if err != nil {
		return out
	}
	for name, c := range cfgs {
		if c.file == nil {
			continue
		}
		for _, p := range c.file.Peers {
			if p.Name == "" {
				continue
			}
			if out[name] == nil {
				out[name] = map[noise.PublicKey]string{}
			}
			out[name][p.PublicKey] = p.Name
		}
	}
	return out
}

// parseConfig parses a wg-quick configuration, turning a parse error into
// a *ConfigError that gives the line.
func parseConfig(name string, data []byte) (*conf.File, error) {
	f, err := conf.Parse(name+".conf", data, conf.Options{Quick: true})
	if err != nil {
		var pe *conf.ParseError
		if errors.As(err, &pe) {
			return nil, &ConfigError{Line: pe.Line, Msg: pe.Err.Error()}
		}
		return nil, &ConfigError{Msg: err.Error()}
	}
	return f, nil
}
