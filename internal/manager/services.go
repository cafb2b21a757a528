package manager

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/warren-vpn/warren/internal/ringlog"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
	"github.com/warren-vpn/warren/internal/winsvc"
)

// The System of a machine whose tunnels run as services, one service a
// tunnel (Windows: winsvc's tunnel services, through the same code as
// `warren service ...`). Its logic is here, platform-neutral, over the
// Services interface; system_windows.go plugs in the service manager, and
// tests a fake.

// ServiceState is a tunnel service's state as the service manager reports
// it.
type ServiceState string

const (
	ServiceNotInstalled ServiceState = "not installed"
	ServiceStopped      ServiceState = "stopped"
	ServiceStarting     ServiceState = "starting"
	ServiceRunning      ServiceState = "running"
	ServiceStopping     ServiceState = "stopping"
	ServiceOther        ServiceState = "other" // paused, or a state the manager does not know
)

// ServiceStatus is one tunnel service.
type ServiceStatus struct {
	State ServiceState
	// AutoStart: it starts with the machine.
	AutoStart bool
	// AllowScripts: it was installed to run the configuration's hook
	// commands.
	AllowScripts bool
	// ExitCode is why it last stopped: 0, or the service's own code
	// (winsvc.ExitUpFailed, ExitTunnelDied, ExitStuck), or the system's.
	ExitCode uint32
}

// Installed reports whether the service exists.
func (s ServiceStatus) Installed() bool { return s.State != ServiceNotInstalled && s.State != "" }

// Services is what ServiceSystem needs of the service manager. Its
// methods are safe for concurrent use; none waits for a service to change
// state.
type Services interface {
	// Query reports tunnel name's service (State ServiceNotInstalled when
	// there is none).
	Query(name string) (ServiceStatus, error)
	// List reports every tunnel service, by tunnel name.
	List() (map[string]ServiceStatus, error)
	// Install registers the service of a tunnel whose configuration is
	// stored, starting with the machine, not started; notes are what the
	// administrator should know.
	Install(name string, allowScripts bool) (notes []string, err error)
	// SetAutoStart makes it start with the machine, or only when asked.
	SetAutoStart(name string, auto bool) error
	// Start and Stop ask it to start or stop (doing nothing if it already
	// is).
	Start(name string) error
	Stop(name string) error
	// Remove stops and deletes it; no service is not an error.
	Remove(name string) error
	// ServiceName is the service's own name, for messages.
	ServiceName(tunnel string) string
}

// ServiceSystem is a System whose tunnels are services: activating a
// tunnel installs its service if needed (with the hook policy of `warren
// service install`) and starts it; deactivating stops it and keeps it from
// starting with the machine; the devices are reached over UAPI in
// SocketDir; each service's log is a ring log at LogPath.
type ServiceSystem struct {
	Services Services
	// Store holds the configurations the services run (their hooks are
	// checked before a service is installed or started).
	Store Store
	// SocketDir is where the devices' UAPI endpoints are (uapi.PipeDir on
	// Windows).
	SocketDir string
	// LogPath is where tunnel name's service writes its ring log.
	LogPath func(name string) (string, error)
	// AllowHooks: the manager was started with --allow-hooks, so the
	// services it installs may run hook commands (as `warren service
	// install --allow-scripts`).
	AllowHooks bool
	// HooksAllowedMachineWide is the administrator's machine-wide opt-in
	// (winsvc's registry value); nil is none.
	HooksAllowedMachineWide func() bool
	// Poll is how often a starting or stopping service is checked (default
	// 100 ms).
	Poll time.Duration
	// OperatorGroups, if set, lists the SIDs of the local groups a
	// Windows account is in (directly or through other groups), so that
	// operator accounts are for members of Network Configuration
	// Operators or Administrators only (see CheckOperator).
	OperatorGroups func(account string) ([]string, error)
}

// Well-known groups whose members may hold an operator account.
const (
	sidNetworkConfigurationOperators = "S-1-5-32-556"
	sidAdministrators                = "S-1-5-32-544"
)

// CheckOperator implements OperatorChecker: the account must be in
// Network Configuration Operators or Administrators, the groups that may
// start and stop tunnel services.
func (s *ServiceSystem) CheckOperator(account string) error {
	if s.OperatorGroups == nil {
		return nil
	}
	sids, err := s.OperatorGroups(account)
	if err != nil {
		return fmt.Errorf("the groups of %s: %w", account, err)
	}
	if slices.Contains(sids, sidNetworkConfigurationOperators) || slices.Contains(sids, sidAdministrators) {
		return nil
	}
	return fmt.Errorf("%s is not a member of Network Configuration Operators (or Administrators)", account)
}

var _ System = (*ServiceSystem)(nil)

// serviceUAPITimeout bounds one UAPI exchange with a service's device.
const serviceUAPITimeout = 5 * time.Second

// KillSwitch reports that tunnels with a default route block other
// traffic (the Windows firewall rules winnet plans), which the conflict
// warnings then name.
func (s *ServiceSystem) KillSwitch() bool { return true }

// Interfaces implements System: the devices UAPI reaches, and the tunnels
// whose services are not stopped (found even where the pipe namespace
// cannot be listed), sorted.
func (s *ServiceSystem) Interfaces() ([]string, error) {
	names, ierr := uapi.Interfaces(s.SocketDir)
	services, serr := s.Services.List()
	if ierr != nil && serr != nil {
		return nil, fmt.Errorf("%w (and the services: %w)", ierr, serr)
	}
	for name, st := range services {
		if st.State != ServiceStopped && st.Installed() && ValidName(name) == nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// ServiceStates reports each tunnel service's state, by tunnel name.
func (s *ServiceSystem) ServiceStates() (map[string]ServiceState, error) {
	services, err := s.Services.List()
	if err != nil {
		return nil, err
	}
	out := make(map[string]ServiceState, len(services))
	for name, st := range services {
		out[name] = st.State
	}
	return out, nil
}

func (s *ServiceSystem) dial(name string) (net.Conn, error) {
	conn, err := uapi.Dial(s.SocketDir, name)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(serviceUAPITimeout))
	return conn, nil
}

// Device implements System.
func (s *ServiceSystem) Device(name string) (*wgtypes.Device, error) {
	conn, err := s.dial(name)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	dev, err := uapi.Get(conn)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return dev, nil
}

// Configure implements System.
func (s *ServiceSystem) Configure(name string, cfg *wgtypes.Config) error {
	conn, err := s.dial(name)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := uapi.Set(conn, cfg); err != nil {
		return fmt.Errorf("configure %s: %w", name, err)
	}
	return nil
}

// Up implements System: the tunnel's service is installed if it is not
// (refused, as by `warren service install`, when the configuration has
// hook commands nobody allowed), made to start with the machine, and
// started; Up returns once the service runs, or says why it stopped.
func (s *ServiceSystem) Up(ctx context.Context, name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	st, err := s.Services.Query(name)
	if err != nil {
		return "", err
	}
	if err := s.checkHooks(name, st); err != nil {
		return "", err
	}
	service := s.Services.ServiceName(name)
	var out []string
	if !st.Installed() {
		notes, err := s.Services.Install(name, s.AllowHooks)
		for _, n := range notes {
			out = append(out, "[#] note: "+n)
		}
		if err != nil {
			return strings.Join(out, "\n"), fmt.Errorf("install service %s: %w", service, err)
		}
		out = append(out, fmt.Sprintf("[#] installed service %s (starts with Windows)", service))
	} else if !st.AutoStart {
		if err := s.Services.SetAutoStart(name, true); err != nil {
			return strings.Join(out, "\n"), err
		}
		out = append(out, fmt.Sprintf("[#] service %s starts with Windows again", service))
	}
	started := time.Now()
	if err := s.Services.Start(name); err != nil {
		return strings.Join(out, "\n"), err
	}
	out = append(out, fmt.Sprintf("[#] started service %s", service))
	st, err = s.wait(ctx, name, ServiceStarting)
	switch {
	case err != nil:
		return strings.Join(out, "\n"), err
	case st.State != ServiceRunning:
		why := s.lastError(name, started)
		if why != "" {
			why = ": " + why
		}
		return strings.Join(out, "\n"), fmt.Errorf("service %s %s (exit code %d)%s", service, st.State, st.ExitCode, why)
	}
	return strings.Join(out, "\n"), nil
}

// checkHooks applies `warren service`'s policy (winsvc.CheckHooks) to the
// stored configuration: hook commands run only where an administrator
// allowed them, for the service as it is installed (or as Up would
// install it) or machine-wide.
func (s *ServiceSystem) checkHooks(name string, st ServiceStatus) error {
	data, err := s.Store.Read(name)
	if err != nil {
		return err
	}
	defer clear(data)
	f, err := parseConfig(name, data)
	if err != nil {
		return err
	}
	allowed := st.AllowScripts
	if !st.Installed() {
		allowed = s.AllowHooks
	}
	if s.HooksAllowedMachineWide != nil && s.HooksAllowedMachineWide() {
		allowed = true
	}
	if err := winsvc.CheckHooks(name, f, allowed); err != nil {
		return fmt.Errorf("%w: %w", ErrHooks, err)
	}
	return nil
}

// Down implements System: the service is kept from starting with the
// machine (a deactivated tunnel stays down after a restart) and stopped;
// Down returns once it has stopped. A tunnel without a service has
// nothing to stop.
func (s *ServiceSystem) Down(ctx context.Context, name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	st, err := s.Services.Query(name)
	if err != nil || !st.Installed() {
		return "", err
	}
	service := s.Services.ServiceName(name)
	var out []string
	if st.AutoStart {
		if err := s.Services.SetAutoStart(name, false); err != nil {
			return "", err
		}
		out = append(out, fmt.Sprintf("[#] service %s no longer starts with Windows", service))
	}
	if st.State == ServiceStopped {
		return strings.Join(out, "\n"), nil
	}
	if err := s.Services.Stop(name); err != nil {
		return strings.Join(out, "\n"), err
	}
	out = append(out, fmt.Sprintf("[#] stopped service %s", service))
	if _, err := s.wait(ctx, name, ServiceStopping); err != nil {
		return strings.Join(out, "\n"), err
	}
	return strings.Join(out, "\n"), nil
}

// wait polls name's service while it is in state from (or, just asked to
// change, still in the state before: stopped when starting, running when
// stopping), until it leaves it or ctx is done.
func (s *ServiceSystem) wait(ctx context.Context, name string, from ServiceState) (ServiceStatus, error) {
	poll := s.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	before := ServiceStopped
	if from == ServiceStopping {
		before = ServiceRunning
	}
	// The service manager may not show the change at once: the state
	// before counts as "not yet" for a while.
	grace := time.Now().Add(2 * time.Second)
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		st, err := s.Services.Query(name)
		if err != nil {
			return st, err
		}
		if st.State != from && (st.State != before || time.Now().After(grace)) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("service %s is still %s: %w", s.Services.ServiceName(name), st.State, ctx.Err())
		case <-t.C:
		}
	}
}

// lastError is the last error or service line the tunnel's ring log got
// since start, for saying why a service stopped.
func (s *ServiceSystem) lastError(name string, since time.Time) string {
	r, err := s.OpenLog(name)
	if err != nil {
		return ""
	}
	defer r.Close()
	lines, err := r.Next()
	if err != nil {
		return ""
	}
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if l.Time.Before(since.Add(-time.Second)) {
			break
		}
		if l.Tag == winsvc.LogTagError {
			return l.Text
		}
	}
	return ""
}

// OpenLog implements System with the ring log the tunnel's service writes.
func (s *ServiceSystem) OpenLog(name string) (*ringlog.Reader, error) {
	path, err := s.LogPath(name)
	if err != nil {
		return nil, err
	}
	r, err := ringlog.OpenReader(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("tunnel %s: %w", name, ErrNoLog)
	}
	return r, err
}

// addServiceStates fills in each tunnel's Service where the System runs
// tunnels as services.
func (m *Manager) addServiceStates(ts []Tunnel) {
	ss, ok := m.sys.(interface {
		ServiceStates() (map[string]ServiceState, error)
	})
	if !ok {
		return
	}
	states, err := ss.ServiceStates()
	if err != nil {
		return
	}
	for i := range ts {
		if st, ok := states[ts[i].Name]; ok {
			ts[i].Service = st
		} else if ts[i].HasConfig {
			ts[i].Service = ServiceNotInstalled
		}
	}
}
