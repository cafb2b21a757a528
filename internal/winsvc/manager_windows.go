//go:build windows

package winsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// ManagerServiceSecurityDescriptor is the manager service's DACL: SYSTEM
// and the Administrators have their usual rights, interactive users may
// query its status. Unlike a tunnel service, Network Configuration
// Operators may not stop or start it: they use the limited view of the
// web UI it serves.
const ManagerServiceSecurityDescriptor = "D:" +
	"(A;;CCLCSWRPWPDTLOCRRC;;;SY)" +
	"(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)" +
	"(A;;CCLCSWLOCRRC;;;IU)"

// ExitManagerFailed is the manager service's service-specific exit code
// when the manager stopped by itself (it could not listen, its state
// folder was refused): recovery actions restart it.
const ExitManagerFailed = 1

// managerStartTimeout bounds how long install waits for the manager to
// run, and for its setup link to appear.
const managerStartTimeout = 30 * time.Second

// SetupLinkFile is where the manager writes its one-time setup link in its
// state folder (internal/manager writes it; install points to it).
const SetupLinkFile = "setup-link"

// ManagerStateDir is %ProgramData%\warren, the manager service's state.
func ManagerStateDir() (string, error) {
	pd, err := windows.KnownFolderPath(windows.FOLDERID_ProgramData, windows.KF_FLAG_DEFAULT)
	if err != nil || pd == "" {
		pd = os.Getenv("ProgramData")
	}
	if pd == "" {
		return "", fmt.Errorf("cannot find ProgramData: %v", err)
	}
	return filepath.Join(pd, programDirName), nil
}

func runManager(cmd ManagerCommand, opts ManagerOptions, stdout io.Writer) error {
	switch cmd.Op {
	case ManagerInstall:
		return installManager(cmd, opts, stdout)
	case ManagerUninstall:
		return uninstallManager(stdout)
	case ManagerRun:
		return runManagerService(cmd, opts)
	}
	return fmt.Errorf("%w: unknown manager operation %d", ErrUsage, cmd.Op)
}

// installManager registers and starts the manager service: the program
// folder's warren.exe (checked as for a tunnel service), SYSTEM, automatic
// start, its own SID, ManagerServiceSecurityDescriptor, recovery actions,
// its state in a private %ProgramData%\warren.
func installManager(cmd ManagerCommand, opts ManagerOptions, stdout io.Writer) error {
	if err := requireAdmin("warren manager install"); err != nil {
		return err
	}
	if opts.Check != nil {
		if err := opts.Check(cmd.Flags); err != nil {
			return err
		}
	}
	state, err := ManagerStateDir()
	if err != nil {
		return err
	}
	if err := EnsurePrivateDir(state); err != nil {
		return fmt.Errorf("manager state %s: %w", state, err)
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(ManagerServiceName); err == nil {
		s.Close()
		return fmt.Errorf("%w %s exists; `warren manager uninstall` first", ErrManagerService, ManagerServiceName)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	placed, err := placeProgramFiles(exe)
	if err != nil {
		return err
	}
	for _, f := range placed.Copied {
		fmt.Fprintf(stdout, "Copied %s\n", f)
	}
	for _, n := range placed.Notes {
		fmt.Fprintf(stdout, "Note: %s\n", n)
	}
	s, err := createManagerService(m, placed.Exe, ManagerServiceArgs(state, cmd.Flags))
	if err != nil {
		return err
	}
	defer s.Close()
	// A stale link from an earlier install must not be taken for this
	// start's.
	os.Remove(filepath.Join(state, SetupLinkFile))
	if err := s.Start(); err != nil {
		return fmt.Errorf("installed %s but could not start it: %w", ManagerServiceName, err)
	}
	if err := waitRunning(s, managerStartTimeout); err != nil {
		return fmt.Errorf("installed %s but %w (the Application event log, source %s, says why)", ManagerServiceName, err, ManagerServiceName)
	}
	fmt.Fprintf(stdout, "Installed and started the manager service %s, running %s with its state in %s\n", ManagerServiceName, placed.Exe, state)
	link := filepath.Join(state, SetupLinkFile)
	accounts := filepath.Join(state, "accounts.json")
	deadline := time.Now().Add(managerStartTimeout)
	for !fileExists(link) && !fileExists(accounts) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	switch {
	case fileExists(link):
		fmt.Fprintf(stdout, "No administrator password is set yet: open the one-time setup link in %s (readable by Administrators only) to set it\n", link)
	case fileExists(accounts):
		fmt.Fprintln(stdout, "Log in with the administrator password set before")
	}
	return nil
}

// createManagerService registers the manager service; it removes it again
// on failure.
func createManagerService(m *mgr.Mgr, exe string, args []string) (*mgr.Service, error) {
	s, err := m.CreateService(ManagerServiceName, exe, mgr.Config{
		ServiceType:  windows.SERVICE_WIN32_OWN_PROCESS,
		StartType:    mgr.StartAutomatic,
		ErrorControl: mgr.ErrorNormal,
		Dependencies: []string{"Nsi", "TcpIp"},
		DisplayName:  "Warren manager",
		Description:  "Web UI and API that manage warren's WireGuard tunnels",
	}, args...)
	if err != nil {
		return nil, fmt.Errorf("create service %s: %w", ManagerServiceName, err)
	}
	fail := func(err error) (*mgr.Service, error) {
		s.Delete()
		s.Close()
		return nil, err
	}
	if err := setServiceSIDType(s.Handle); err != nil {
		return fail(err)
	}
	if err := setServiceDACLTo(s.Handle, ManagerServiceSecurityDescriptor); err != nil {
		return fail(err)
	}
	if err := setRecovery(s); err != nil {
		return fail(err)
	}
	eventlog.InstallAsEventCreate(ManagerServiceName, eventlog.Error|eventlog.Warning|eventlog.Info) // best effort
	return s, nil
}

func setServiceDACLTo(h windows.Handle, sddl string) error {
	sd, err := windows.SecurityDescriptorFromString(sddl)
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

// waitRunning waits for a started service to run; an error if it stopped
// or did not run within timeout.
func waitRunning(s *mgr.Service, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, err := s.Query()
		if err != nil {
			return err
		}
		switch st.State {
		case svc.Running:
			return nil
		case svc.Stopped:
			return fmt.Errorf("it stopped (exit code %d, service-specific %d)", st.Win32ExitCode, st.ServiceSpecificExitCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("it is still %s after %v", StateText(st.State), timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// uninstallManager stops and removes the manager service. Its state (the
// password hash, API tokens, history) and the tunnels stay.
func uninstallManager(stdout io.Writer) error {
	if err := requireAdmin("warren manager uninstall"); err != nil {
		return err
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	if err := removeService(m, ManagerServiceName); err != nil {
		if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
			return fmt.Errorf("%w %s is not installed", ErrManagerService, ManagerServiceName)
		}
		return err
	}
	fmt.Fprintf(stdout, "Removed the manager service %s; the tunnels and their services are as they were\n", ManagerServiceName)
	if state, err := ManagerStateDir(); err == nil && fileExists(state) {
		fmt.Fprintf(stdout, "Kept the manager's state in %s (password hash, API tokens, traffic history); delete the folder to remove it\n", state)
	}
	return nil
}

func runManagerService(cmd ManagerCommand, opts ManagerOptions) error {
	if opts.Serve == nil {
		return errors.New("this warren binary has no manager linked in")
	}
	h := &managerService{flags: cmd.Flags, serve: opts.Serve}
	if err := svc.Run(ManagerServiceName, h); err != nil {
		if errors.Is(err, windows.ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
			return errors.New("only the service manager starts this (`warren manager install`); to run the manager in this console: warren manager [FLAGS]")
		}
		return err
	}
	return h.err
}

// managerService runs the manager under the service manager: it serves
// until asked to stop; if it stops by itself, the service stops with
// ExitManagerFailed and recovery actions restart it.
type managerService struct {
	flags []string
	serve func(ctx context.Context, flags []string, stdout io.Writer) error
	err   error
}

// Execute implements svc.Handler.
func (s *managerService) Execute(_ []string, requests <-chan svc.ChangeRequest, changes chan<- svc.Status) (bool, uint32) {
	changes <- svc.Status{State: svc.StartPending}
	log := newEventWriter(ManagerServiceName)
	defer log.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx, s.flags, log) }()
	running := svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	changes <- running
	for {
		select {
		case err := <-done:
			if err == nil {
				err = errors.New("the manager stopped by itself")
			}
			s.err = err
			log.Error(err.Error())
			// svc reports Stopped with the exit code; a Stopped sent
			// first would be recorded with none.
			return true, ExitManagerFailed
		case r := <-requests:
			switch r.Cmd {
			case svc.Interrogate:
				changes <- r.CurrentStatus
			case svc.Stop, svc.Shutdown:
				changes <- svc.Status{State: svc.StopPending, WaitHint: uint32(StopWatchdog / time.Millisecond)}
				cancel()
				select {
				case err := <-done:
					if err != nil {
						log.Error("stopping: " + err.Error())
					}
				case <-time.After(StopWatchdog):
					log.Error(fmt.Sprintf("the manager did not stop within %v; leaving it", StopWatchdog))
				}
				return false, 0
			default:
				changes <- running
			}
		}
	}
}

// eventWriter writes each line written to it to the Application event log
// as information; Error writes an error. Without an event source it
// drops them.
type eventWriter struct {
	mu  sync.Mutex
	log *eventlog.Log
	buf bytes.Buffer
}

func newEventWriter(source string) *eventWriter {
	l, err := eventlog.Open(source)
	if err != nil {
		return &eventWriter{}
	}
	return &eventWriter{log: l}
}

func (w *eventWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line) // no newline yet: keep it
			break
		}
		if line = strings.TrimRight(line, "\r\n"); line != "" && w.log != nil {
			w.log.Info(1, line)
		}
	}
	return len(p), nil
}

func (w *eventWriter) Error(msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.log != nil {
		w.log.Error(1, msg)
	}
}

func (w *eventWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.log == nil {
		return nil
	}
	if rest := strings.TrimSpace(w.buf.String()); rest != "" {
		w.log.Info(1, rest)
	}
	return w.log.Close()
}
