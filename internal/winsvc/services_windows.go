//go:build windows

package winsvc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// The tunnel services as the manager drives them: the same services, store
// and program folder as `warren service install|uninstall|list`, exported
// for internal/manager. The caller must run elevated or as SYSTEM (the
// manager service does); nothing here prints.

// TunnelServiceStatus is what the service manager says of a tunnel's
// service.
type TunnelServiceStatus struct {
	// Installed: the service exists; the other fields are zero otherwise.
	Installed bool
	State     svc.State
	// AutoStart: the service starts with Windows.
	AutoStart bool
	// AllowScripts: its command line lets it run hook commands.
	AllowScripts bool
	// Win32ExitCode and ServiceExitCode are why it last stopped (see
	// ExitUpFailed and the other service-specific codes).
	Win32ExitCode, ServiceExitCode uint32
}

// OpenDefaultStore opens the tunnel services' configuration store
// (DefaultStoreDir, DPAPI in SYSTEM's scope), creating and securing its
// folder, with every folder from ProgramDir down checked for links.
func OpenDefaultStore() (*Store, error) { return openDefaultStore() }

// QueryTunnelService reports the service of tunnel name.
func QueryTunnelService(name string) (TunnelServiceStatus, error) {
	if err := ValidTunnelName(name); err != nil {
		return TunnelServiceStatus{}, err
	}
	m, err := mgr.Connect()
	if err != nil {
		return TunnelServiceStatus{}, fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(ServiceName(name))
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return TunnelServiceStatus{}, nil
	}
	if err != nil {
		return TunnelServiceStatus{}, fmt.Errorf("service %s: %w", ServiceName(name), err)
	}
	defer s.Close()
	return queryService(s)
}

func queryService(s *mgr.Service) (TunnelServiceStatus, error) {
	st, err := s.Query()
	if err != nil {
		return TunnelServiceStatus{}, fmt.Errorf("service %s: %w", s.Name, err)
	}
	out := TunnelServiceStatus{Installed: true, State: st.State, Win32ExitCode: st.Win32ExitCode, ServiceExitCode: st.ServiceSpecificExitCode}
	if startType, cmdline, err := serviceConfig(s.Handle); err == nil {
		out.AutoStart = startType == mgr.StartAutomatic
		out.AllowScripts = commandAllowsScripts(cmdline)
	}
	return out, nil
}

// serviceConfig reads a service's start type and command line (mgr's
// Config also asks for levels wine's service manager lacks).
func serviceConfig(h windows.Handle) (startType uint32, cmdline string, err error) {
	var need uint32
	windows.QueryServiceConfig(h, nil, 0, &need)
	if need == 0 {
		need = 1024
	}
	for range 3 {
		buf := make([]byte, need)
		cfg := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
		err = windows.QueryServiceConfig(h, cfg, need, &need)
		if err == nil {
			return cfg.StartType, windows.UTF16PtrToString(cfg.BinaryPathName), nil
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) {
			break
		}
	}
	return 0, "", fmt.Errorf("query service configuration: %w", err)
}

// commandAllowsScripts reports whether a tunnel service's command line
// (as the service manager stores it) carries AllowScriptsFlag.
func commandAllowsScripts(cmdline string) bool {
	args, err := windows.DecomposeCommandLine(cmdline)
	if err != nil || len(args) < 2 {
		return false
	}
	cmd, err := ParseArgs(args[1:])
	return err == nil && cmd.Op == OpRun && cmd.AllowScripts
}

// ListTunnelServices reports every tunnel service by tunnel name.
func ListTunnelServices() (map[string]TunnelServiceStatus, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	names, err := m.ListServices()
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	out := map[string]TunnelServiceStatus{}
	for _, service := range names {
		tunnel, ok := TunnelName(service)
		if !ok {
			continue
		}
		s, err := m.OpenService(service)
		if err != nil {
			continue // deleted meanwhile
		}
		st, err := queryService(s)
		s.Close()
		if err == nil {
			out[tunnel] = st
		}
	}
	return out, nil
}

// InstallTunnelService registers tunnel name's service, as `warren service
// install` does but for a configuration already in the store and without
// starting it: warren.exe (and wintun.dll) are placed in the program
// folder and refused if non-administrators could change them, and the
// service gets its own SID, ServiceSecurityDescriptor, recovery actions
// and automatic start. notes are what the administrator should know (no
// wintun.dll, files copied).
func InstallTunnelService(name string, allowScripts bool) (notes []string, err error) {
	if err := ValidTunnelName(name); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	placed, err := placeProgramFiles(exe)
	if err != nil {
		return nil, err
	}
	for _, f := range placed.Copied {
		notes = append(notes, "copied "+f)
	}
	notes = append(notes, placed.Notes...)
	m, err := mgr.Connect()
	if err != nil {
		return notes, fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := createService(m, name, placed.Exe, ServiceArgs(name, allowScripts))
	if err != nil {
		return notes, err
	}
	s.Close()
	return notes, nil
}

// placeProgramFiles is placeProgram's work for a caller that is not the
// command line: the program folder's copy of exe, checked.
func placeProgramFiles(exe string) (placement, error) {
	pf, err := newProgramFiles()
	if err != nil {
		return placement{}, err
	}
	placed, err := pf.place(exe)
	if errors.Is(err, ErrProgramInUse) {
		return placement{}, fmt.Errorf("%w; stop the running tunnels, or run the manager from %s", err, filepath.Join(pf.Dir, programExe))
	}
	if err != nil {
		return placement{}, err
	}
	for _, f := range []string{placed.Exe, placed.DLL} {
		if f == "" {
			continue
		}
		if err := checkProgramFile(f); err != nil {
			return placement{}, fmt.Errorf("refusing to register %s: %w%s", placed.Exe, err, unsafeProgramAdvice(err))
		}
	}
	return placed, nil
}

// StartTunnelService asks the service manager to start tunnel name's
// service; it does not wait for it to run.
func StartTunnelService(name string) error {
	return withTunnelService(name, func(s *mgr.Service) error {
		err := s.Start()
		if errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
			return nil
		}
		return err
	})
}

// StopTunnelService asks tunnel name's service to stop; it does not wait.
// A service that is not running is left as it is.
func StopTunnelService(name string) error {
	return withTunnelService(name, func(s *mgr.Service) error {
		_, err := s.Control(svc.Stop)
		if errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
			return nil
		}
		return err
	})
}

// SetTunnelServiceAutoStart makes tunnel name's service start with Windows
// (auto) or only when asked (a deactivated tunnel stays down after a
// restart).
func SetTunnelServiceAutoStart(name string, auto bool) error {
	return withTunnelService(name, func(s *mgr.Service) error {
		want := uint32(mgr.StartManual)
		if auto {
			want = mgr.StartAutomatic
		}
		if got, _, err := serviceConfig(s.Handle); err == nil && got == want {
			return nil
		}
		const keep = windows.SERVICE_NO_CHANGE
		if err := windows.ChangeServiceConfig(s.Handle, keep, want, keep, nil, nil, nil, nil, nil, nil, nil); err != nil {
			return fmt.Errorf("set start type: %w", err)
		}
		return nil
	})
}

// RemoveTunnelService stops tunnel name's service (waiting up to 30 s) and
// deletes it, as `warren service uninstall` does; the stored configuration
// is the caller's to delete. A service that does not exist is not an
// error.
func RemoveTunnelService(name string) error {
	if err := ValidTunnelName(name); err != nil {
		return err
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	if err := removeService(m, ServiceName(name)); err != nil {
		if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
			return nil
		}
		return err
	}
	return nil
}

func withTunnelService(name string, f func(*mgr.Service) error) error {
	if err := ValidTunnelName(name); err != nil {
		return err
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(ServiceName(name))
	if err != nil {
		return fmt.Errorf("service %s: %w", ServiceName(name), err)
	}
	defer s.Close()
	if err := f(s); err != nil {
		return fmt.Errorf("service %s: %w", ServiceName(name), err)
	}
	return nil
}

// RequireAdmin fails unless the process runs elevated as an administrator
// or as SYSTEM, saying that what needs it.
func RequireAdmin(what string) error { return requireAdmin(what) }

// ScriptsAllowedMachineWide reports the administrator's machine-wide
// opt-in to hook commands (AllowScriptsRegistryKey).
func ScriptsAllowedMachineWide() bool { return scriptsAllowedMachineWide() }
