//go:build windows

package winsvc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"github.com/warren-vpn/warren/internal/conf"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

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
	placed, err := placeProgram(cmd)
	if err != nil {
		return err
	}
	for _, f := range placed.Copied {
		fmt.Fprintf(stdout, "Copied %s\n", f)
	}
	for _, n := range placed.Notes {
		fmt.Fprintf(stdout, "Note: %s\n", n)
	}
	if err := st.Save(cmd.Tunnel, data); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	s, err := createService(m, cmd.Tunnel, placed.Exe, ServiceArgs(cmd.Tunnel, cmd.AllowScripts))
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer s.Close()
	if err := s.Start(); err != nil {
		return fmt.Errorf("install: installed %s but could not start it: %w", service, err)
	}
	fmt.Fprintf(stdout, "Installed and started tunnel service %s, running %s\n", service, placed.Exe)
	return nil
}

// placeProgram puts warren.exe (and wintun.dll) into the program folder
// (programFiles.place) and refuses to go on if the program or DLL the
// service would load can be changed by a non-administrator.
func placeProgram(cmd Command) (placement, error) {
	exe, err := os.Executable()
	if err != nil {
		return placement{}, fmt.Errorf("install: %w", err)
	}
	pf, err := newProgramFiles()
	if err != nil {
		return placement{}, fmt.Errorf("install: %w", err)
	}
	placed, err := pf.place(exe)
	if errors.Is(err, ErrProgramInUse) {
		installed := filepath.Join(pf.Dir, programExe)
		return placement{}, fmt.Errorf("install: %w; it is in use, most likely by a running tunnel service: "+
			"stop the running tunnels (`warren service list` names them; `net stop %sNAME` stops one) and install again, "+
			"or install with the copy already there: \"%s\" service install %s",
			err, ServicePrefix, installed, cmd.Path)
	}
	if err != nil {
		return placement{}, fmt.Errorf("install: %w", err)
	}
	for _, f := range []string{placed.Exe, placed.DLL} {
		if f == "" {
			continue
		}
		if err := checkProgramFile(f); err != nil {
			return placement{}, fmt.Errorf("install: refusing to register %s: %w%s", placed.Exe, err, unsafeProgramAdvice(err))
		}
	}
	return placed, nil
}

// createService registers tunnel's service, to run exe with args, with its
// own SID, ServiceSecurityDescriptor and recoveryActions; it removes it
// again on failure.
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
	if err := setRecovery(s); err != nil {
		s.Delete()
		s.Close()
		return nil, err
	}
	eventlog.InstallAsEventCreate(service, eventlog.Error|eventlog.Warning|eventlog.Info) // best effort
	return s, nil
}

// recoveryActions are what the service manager does when a tunnel service
// fails, by crashing or by stopping with an error (the adapter vanished,
// the engine died): restart it, sooner then later, three times; after a
// fourth failure within resetPeriod, leave it stopped (the last action
// would otherwise repeat for ever).
var recoveryActions = []mgr.RecoveryAction{
	{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
	{Type: mgr.ServiceRestart, Delay: 15 * time.Second},
	{Type: mgr.ServiceRestart, Delay: 60 * time.Second},
	{Type: mgr.NoAction},
}

// recoveryResetPeriod is how long (in seconds) without a failure resets
// the failure count: a day.
const recoveryResetPeriod = 24 * 60 * 60

// setRecovery sets recoveryActions, and has them apply also when the
// service stops by itself with a non-zero exit code
// (SERVICE_CONFIG_FAILURE_ACTIONS_FLAG), not only when it crashes. Wine's
// service manager lacks these levels; there they are skipped.
func setRecovery(s *mgr.Service) error {
	if err := s.SetRecoveryActions(recoveryActions, recoveryResetPeriod); err != nil && !errors.Is(err, windows.ERROR_INVALID_LEVEL) {
		return fmt.Errorf("set recovery actions: %w", err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil && !errors.Is(err, windows.ERROR_INVALID_LEVEL) {
		return fmt.Errorf("set recovery on non-crash failures: %w", err)
	}
	return nil
}

// setServiceSIDType gives the service its own SID (NT SERVICE\NAME), so
// that firewall rules and ACLs can name it. Wine's service manager lacks
// this level; there it is skipped.
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
	if err := removeService(m, service); err != nil {
		return fmt.Errorf("uninstall: %w", err)
	}
	if st, err := openDefaultStore(); err == nil {
		if err := st.Delete(name); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("uninstall: %w", err)
		}
	}
	fmt.Fprintf(stdout, "Removed tunnel service %s and its stored configuration\n", service)
	return nil
}

// uninstallAll stops and removes every tunnel service, as the MSI's
// uninstall does, and keeps the stored configurations (the keys): removing
// the program is not removing the tunnels, and `warren import`/`export`
// or a reinstall can take them up again. A service that cannot be removed
// does not stop the others; all failures are reported.
func uninstallAll(stdout io.Writer) error {
	if err := requireAdmin("warren service uninstall " + AllFlag); err != nil {
		return err
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("uninstall: service manager: %w", err)
	}
	defer m.Disconnect()
	services, err := m.ListServices()
	if err != nil {
		return fmt.Errorf("uninstall: list services: %w", err)
	}
	var errs []error
	removed := 0
	for _, service := range services {
		if _, ok := TunnelName(service); !ok {
			continue
		}
		if err := removeService(m, service); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
		fmt.Fprintf(stdout, "Removed tunnel service %s\n", service)
	}
	if removed == 0 && len(errs) == 0 {
		fmt.Fprintln(stdout, "No warren tunnel services are installed")
	}
	if dir, err := DefaultStoreDir(); err == nil {
		root, _ := ProgramDir()
		st := &Store{Dir: dir, Root: root, Cipher: DPAPI{}}
		if names, err := st.List(); err == nil && len(names) > 0 {
			fmt.Fprintf(stdout, "Kept the stored configurations of %s in %s (they hold the private keys: "+
				"`warren export NAME` prints one; delete the folder to remove them)\n", strings.Join(names, ", "), dir)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("uninstall: %w", errors.Join(errs...))
	}
	return nil
}

// removeService stops service (waiting up to stopTimeout) and deletes it
// and its event source.
func removeService(m *mgr.Mgr, service string) error {
	s, err := m.OpenService(service)
	if err != nil {
		return fmt.Errorf("service %s: %w", service, err)
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
	// Marked for delete: someone deleted it already, it goes when its
	// last handle closes.
	if err := s.Delete(); err != nil && !errors.Is(err, windows.ERROR_SERVICE_MARKED_FOR_DELETE) {
		return fmt.Errorf("delete service %s: %w", service, err)
	}
	eventlog.Remove(service) // best effort
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
	root, rerr := ProgramDir()
	if dir, err := DefaultStoreDir(); err == nil && rerr == nil {
		st := &Store{Dir: dir, Root: root, Cipher: DPAPI{}}
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
