package winsvc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/warren-vpn/warren/internal/conf"
)

// ServiceSecurityDescriptor is each tunnel service's DACL: SYSTEM and the
// Administrators have their usual rights; Network Configuration Operators
// (NO) may query, start, stop and interrogate it but not reconfigure or
// delete it (and the keys, in the store and behind the pipe, stay out of
// their reach); interactive users may query its status.
const ServiceSecurityDescriptor = "D:" +
	"(A;;CCLCSWRPWPDTLOCRRC;;;SY)" +
	"(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)" +
	"(A;;CCLCSWRPWPDTLOCRRC;;;NO)" +
	"(A;;CCLCSWLOCRRC;;;IU)"

// stopTimeout bounds how long uninstall waits for a service to stop.
const stopTimeout = 30 * time.Second

func run(cmd Command, opts Options, stdout io.Writer) error {
	switch cmd.Op {
	case OpInstall:
		return install(cmd, stdout)
	case OpUninstall:
		return uninstall(cmd.Tunnel, stdout)
	case OpList:
		return list(stdout)
	case OpImport:
		return importConf(cmd, stdout)
	case OpExport:
		return export(cmd.Tunnel, stdout)
	case OpRun:
		return runService(cmd, opts)
	}
	return fmt.Errorf("%w: unknown operation %d", ErrUsage, cmd.Op)
}

// requireAdmin fails unless the process runs elevated as an administrator
// or as SYSTEM.
func requireAdmin(what string) error {
	token := windows.GetCurrentProcessToken()
	if token.IsElevated() {
		return nil
	}
	sys, err := windows.CreateWellKnownSid(windows.WinLocalSystemSid)
	if err == nil {
		if u, err := token.GetTokenUser(); err == nil && u.User.Sid.Equals(sys) {
			return nil
		}
	}
	return fmt.Errorf("%s needs an elevated administrator prompt (Run as administrator)", what)
}

// scriptsAllowedMachineWide reads the registry opt-in.
func scriptsAllowedMachineWide() bool {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, AllowScriptsRegistryKey, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	defer k.Close()
	v, _, err := k.GetIntegerValue(AllowScriptsRegistryValue)
	return err == nil && v == 1
}

func openDefaultStore() (*Store, error) {
	dir, err := DefaultStoreDir()
	if err != nil {
		return nil, err
	}
	return OpenStore(dir)
}

// readConf reads and parses a configuration file to import.
func readConf(cmd Command) ([]byte, *conf.File, error) {
	data, err := os.ReadFile(cmd.Path)
	if err != nil {
		return nil, nil, err
	}
	f, err := ParseConfig(cmd.Path, data)
	if err != nil {
		return nil, nil, err
	}
	return data, f, nil
}

func importConf(cmd Command, stdout io.Writer) error {
	if err := requireAdmin("warren import"); err != nil {
		return err
	}
	data, f, err := readConf(cmd)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	st, err := openDefaultStore()
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if err := st.Save(cmd.Tunnel, data); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(stdout, "Imported tunnel %s into %s\n", cmd.Tunnel, st.Dir)
	if err := CheckHooks(cmd.Tunnel, f, scriptsAllowedMachineWide()); err != nil {
		fmt.Fprintf(stdout, "Note: %v\n", err)
	}
	return nil
}

func export(name string, stdout io.Writer) error {
	if err := requireAdmin("warren export"); err != nil {
		return err
	}
	st, err := openDefaultStore()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	data, err := st.Load(name)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer clear(data)
	_, err = stdout.Write(data)
	return err
}

func install(cmd Command, stdout io.Writer) error {
	if err := requireAdmin("warren service install"); err != nil {
		return err
	}
	data, f, err := readConf(cmd)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	if err := CheckHooks(cmd.Tunnel, f, cmd.AllowScripts || scriptsAllowedMachineWide()); err != nil {
		return err
	}
	st, err := openDefaultStore()
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	others := map[string]*conf.File{}
	if names, err := st.List(); err == nil {
		for _, n := range names {
			if strings.EqualFold(n, cmd.Tunnel) {
				continue
			}
			if b, err := st.Load(n); err == nil {
				if of, err := ParseConfig(n, b); err == nil {
					others[n] = of
				}
				clear(b)
			}
		}
	}
	for _, w := range Conflicts(cmd.Tunnel, f, others) {
		fmt.Fprintf(stdout, "Warning: %s\n", w)
	}

	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("install: service manager: %w", err)
	}
	defer m.Disconnect()
	service := ServiceName(cmd.Tunnel)
	if s, err := m.OpenService(service); err == nil {
		s.Close()
		return fmt.Errorf("install: service %s exists; `warren service uninstall %s` first", service, cmd.Tunnel)
	}
	if err := st.Save(cmd.Tunnel, data); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	s, err := createService(m, cmd.Tunnel, exe, ServiceArgs(cmd.Tunnel, cmd.AllowScripts))
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer s.Close()
	if err := s.Start(); err != nil {
		return fmt.Errorf("install: installed %s but could not start it: %w", service, err)
	}
	fmt.Fprintf(stdout, "Installed and started tunnel service %s\n", service)
	return nil
}

// setServiceSIDType gives the service its own SID (NT SERVICE\NAME), so
// that firewall rules and ACLs can name it. Wine's service manager lacks
// this level; there it is skipped.
// createService registers tunnel's service, to run exe with args, with its
// own SID and ServiceSecurityDescriptor; it removes it again on failure.
func createService(m *mgr.Mgr, tunnel, exe string, args []string) (*mgr.Service, error) {
	service := ServiceName(tunnel)
	s, err := m.CreateService(service, exe, mgr.Config{
		ServiceType:  windows.SERVICE_WIN32_OWN_PROCESS,
		StartType:    mgr.StartAutomatic,
		ErrorControl: mgr.ErrorNormal,
		Dependencies: []string{"Nsi", "TcpIp"},
		DisplayName:  "Warren tunnel: " + tunnel,
		Description:  "WireGuard tunnel " + tunnel + " run by warren",
	}, args...)
	if err != nil {
		return nil, fmt.Errorf("create service %s: %w", service, err)
	}
	if err := setServiceSIDType(s.Handle); err != nil {
		s.Delete()
		s.Close()
		return nil, err
	}
	if err := setServiceDACL(s.Handle); err != nil {
		s.Delete()
		s.Close()
		return nil, err
	}
	eventlog.InstallAsEventCreate(service, eventlog.Error|eventlog.Warning|eventlog.Info) // best effort
	return s, nil
}

func setServiceSIDType(h windows.Handle) error {
	info := struct{ ServiceSidType uint32 }{windows.SERVICE_SID_TYPE_UNRESTRICTED} // SERVICE_SID_INFO
	err := windows.ChangeServiceConfig2(h, windows.SERVICE_CONFIG_SERVICE_SID_INFO, (*byte)(unsafe.Pointer(&info)))
	if err != nil && !errors.Is(err, windows.ERROR_INVALID_LEVEL) {
		return fmt.Errorf("set service SID type: %w", err)
	}
	return nil
}

func setServiceDACL(h windows.Handle) error {
	sd, err := windows.SecurityDescriptorFromString(ServiceSecurityDescriptor)
	if err != nil {
		return fmt.Errorf("service security descriptor: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("service security descriptor: %w", err)
	}
	if err := windows.SetSecurityInfo(h, windows.SE_SERVICE, windows.DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("set service DACL: %w", err)
	}
	return nil
}

func uninstall(name string, stdout io.Writer) error {
	if err := requireAdmin("warren service uninstall"); err != nil {
		return err
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("uninstall: service manager: %w", err)
	}
	defer m.Disconnect()
	service := ServiceName(name)
	s, err := m.OpenService(service)
	if err != nil {
		return fmt.Errorf("uninstall: service %s: %w", service, err)
	}
	defer s.Close()
	if status, err := s.Control(svc.Stop); err == nil {
		deadline := time.Now().Add(stopTimeout)
		for status.State != svc.Stopped && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			if status, err = s.Query(); err != nil {
				break
			}
		}
	}
	if err := s.Delete(); err != nil {
		return fmt.Errorf("uninstall: delete service %s: %w", service, err)
	}
	eventlog.Remove(service) // best effort
	if st, err := openDefaultStore(); err == nil {
		if err := st.Delete(name); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("uninstall: %w", err)
		}
	}
	fmt.Fprintf(stdout, "Removed tunnel service %s and its stored configuration\n", service)
	return nil
}

// list prints each tunnel service and its state, then the imported tunnels
// that are not installed. It needs no administrator: it opens the service
// manager with the rights every user has (the store, which only
// administrators can read, is skipped for others).
func list(stdout io.Writer) error {
	h, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT|windows.SC_MANAGER_ENUMERATE_SERVICE)
	if err != nil {
		return fmt.Errorf("list: service manager: %w", err)
	}
	m := &mgr.Mgr{Handle: h}
	defer m.Disconnect()
	services, err := m.ListServices()
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	installed := map[string]bool{}
	for _, service := range services {
		name, ok := TunnelName(service)
		if !ok {
			continue
		}
		state := "unknown"
		if sh, err := windows.OpenService(h, windows.StringToUTF16Ptr(service), windows.SERVICE_QUERY_STATUS); err == nil {
			s := &mgr.Service{Name: service, Handle: sh}
			if st, err := s.Query(); err == nil {
				state = StateText(st.State)
			}
			s.Close()
		}
		fmt.Fprintf(stdout, "%s\t%s\n", name, state)
		installed[strings.ToLower(name)] = true
	}
	// Imported but not installed: only administrators can read the store.
	if dir, err := DefaultStoreDir(); err == nil {
		st := &Store{Dir: dir, Cipher: DPAPI{}}
		if names, err := st.List(); err == nil {
			for _, name := range names {
				if !installed[strings.ToLower(name)] {
					fmt.Fprintf(stdout, "%s\tnot installed\n", name)
				}
			}
		}
	}
	return nil
}

// StateText words a service state for `warren service list`.
func StateText(s svc.State) string {
	switch s {
	case svc.Stopped:
		return "stopped"
	case svc.StartPending:
		return "starting"
	case svc.StopPending:
		return "stopping"
	case svc.Running:
		return "running"
	case svc.ContinuePending, svc.PausePending, svc.Paused:
		return "paused"
	}
	return fmt.Sprintf("state %d", s)
}

func runService(cmd Command, opts Options) error {
	h := &tunnelService{tunnel: cmd.Tunnel, allowScripts: cmd.AllowScripts, opts: opts}
	// svc.Run rather than asking svc.IsWindowsService first: that guesses
	// from the session and the parent process, which wine gets wrong.
	if err := svc.Run(ServiceName(cmd.Tunnel), h); err != nil {
		if errors.Is(err, windows.ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
			return fmt.Errorf("service run: only the service manager starts this; use `warren service install PATH.conf`")
		}
		return fmt.Errorf("service run: %w", err)
	}
	return h.err
}

// tunnelService is the service's run loop.
type tunnelService struct {
	tunnel       string
	allowScripts bool
	opts         Options
	err          error // why it stopped, if it failed
}

func (s *tunnelService) logf(kind string, format string, args ...any) {
	l, err := eventlog.Open(ServiceName(s.tunnel))
	if err != nil {
		return
	}
	defer l.Close()
	msg := fmt.Sprintf(format, args...)
	switch kind {
	case "error":
		l.Error(1, msg)
	default:
		l.Info(1, msg)
	}
}

// up loads, checks and brings up the tunnel.
func (s *tunnelService) up() (Tunnel, error) {
	if s.opts.NewTunnel == nil {
		return nil, errors.New("this warren binary has no Windows data plane linked in")
	}
	st, err := openDefaultStore()
	if err != nil {
		return nil, err
	}
	data, err := st.Load(s.tunnel)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	f, err := ParseConfig(s.tunnel, data)
	if err != nil {
		// Only the position: a value in the message could be a key.
		var pe *conf.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("stored configuration does not parse at line %d", pe.Line)
		}
		return nil, errors.New("stored configuration does not parse")
	}
	if err := CheckHooks(s.tunnel, f, s.allowScripts || scriptsAllowedMachineWide()); err != nil {
		return nil, err
	}
	t, err := s.opts.NewTunnel(s.tunnel)
	if err != nil {
		return nil, err
	}
	if err := t.Up(f); err != nil {
		return nil, fmt.Errorf("bring up: %w", err)
	}
	return t, nil
}

// Execute implements svc.Handler.
func (s *tunnelService) Execute(_ []string, requests <-chan svc.ChangeRequest, changes chan<- svc.Status) (bool, uint32) {
	changes <- svc.Status{State: svc.StartPending}
	t, err := s.up()
	if err != nil {
		s.err = fmt.Errorf("tunnel %s: %w", s.tunnel, err)
		s.logf("error", "%v", s.err)
		changes <- svc.Status{State: svc.StopPending}
		return true, 1 // service-specific exit code
	}
	s.logf("info", "tunnel %s is up", s.tunnel)
	changes <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for r := range requests {
		switch r.Cmd {
		case svc.Interrogate:
			changes <- r.CurrentStatus
		case svc.Stop, svc.Shutdown:
			changes <- svc.Status{State: svc.StopPending}
			if err := t.Down(); err != nil {
				s.err = fmt.Errorf("tunnel %s: take down: %w", s.tunnel, err)
				s.logf("error", "%v", s.err)
				return true, 2
			}
			return false, 0
		}
	}
	return false, 0
}
