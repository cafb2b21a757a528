package winsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// testManagerOptions is what the test binary runs as the manager service
// (see TestMain): a manager that leaves marks in markDir — "manager.up"
// with its flags, "manager.down" when asked to stop — writes a setup link
// into its --state as the real one does, and with --fail stops by itself.
var testManagerOptions = ManagerOptions{
	Check: func(flags []string) error {
		for _, f := range flags {
			if f == "--bogus" {
				return errors.New("unknown flag --bogus")
			}
		}
		return nil
	},
	Serve: func(ctx context.Context, flags []string, stdout io.Writer) error {
		if slices.Contains(flags, "--fail") {
			return errors.New("cannot listen")
		}
		if i := slices.Index(flags, "--state"); i >= 0 && i+1 < len(flags) {
			os.WriteFile(filepath.Join(flags[i+1], SetupLinkFile), []byte("http://127.0.0.1:51821/setup?token=x\n"), 0o600)
		}
		fmt.Fprintln(stdout, "serving")
		if err := os.WriteFile(filepath.Join(markDir(), "manager.up"), []byte(strings.Join(flags, " ")), 0o600); err != nil {
			return err
		}
		<-ctx.Done()
		return os.WriteFile(filepath.Join(markDir(), "manager.down"), nil, 0o600)
	},
}

// The manager's state folder is made private when created, is refused when
// someone else could have changed it, and is never a link.
func TestEnsurePrivateDir(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "warren")
	if err := EnsurePrivateDir(dir); err != nil {
		t.Fatalf("new folder: %v", err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("not made: %v", err)
	}
	// Again: the caller's own folder (wine makes the user own it; on
	// Windows it is the Administrators').
	if err := EnsurePrivateDir(dir); err != nil {
		t.Fatalf("existing private folder: %v", err)
	}
	if !onWine() {
		sids, protected := daclEntries(t, dir)
		if want := []string{"S-1-5-18", "S-1-5-32-544"}; !slices.Equal(slices.Compact(sids), want) || !protected {
			t.Errorf("folder DACL admits %q (protected %v), want only SYSTEM and Administrators", sids, protected)
		}
	}
	// A folder another user made first, or whose permissions let users in.
	for _, sddl := range []string{sddlUserOwned, "O:BAD:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;CIID;DCLCRPCR;;;BU)"} {
		read := func(p string) (string, error) {
			if strings.EqualFold(p, dir) {
				return sddl, nil
			}
			return sddlAdminOnly, nil
		}
		if err := ensurePrivateDir(dir, read); !errors.Is(err, ErrUnsafeDir) {
			t.Errorf("folder with %s: %v, want ErrUnsafeDir", sddl, err)
		}
	}
	if err := EnsurePrivateDir("warren"); err == nil {
		t.Error("a relative path was accepted")
	}
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o600)
	if err := EnsurePrivateDir(file); err == nil {
		t.Error("a file was accepted as the folder")
	}
	if err := EnsurePrivateDir(filepath.Join(file, "below")); err == nil {
		t.Error("a folder under a file was accepted")
	}
}

// A state folder that is a link, or under one, is refused. Under wine
// only, where a Unix link is a reparse point.
func TestEnsurePrivateDirRefusesReparsePoint(t *testing.T) {
	if !onWine() {
		t.Skip("making a reparse point needs privileges on Windows; under wine a Unix link is one")
	}
	if _, err := os.Stat(`Z:\bin\ln`); err != nil {
		t.Skip("no Z: drive mapping /")
	}
	base, err := os.MkdirTemp(`Z:\tmp`, "warren-privdir-")
	if err != nil {
		t.Skip(err)
	}
	gone := func() bool { _, err := os.Lstat(base); return err != nil }
	defer runUnix(t, gone, "/bin/rm", "-rf", unixPath(base))
	target := filepath.Join(base, "elsewhere")
	if err := os.MkdirAll(filepath.Join(target, "inner"), 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if !runUnix(t, func() bool { _, err := os.Lstat(link); return err == nil }, "/bin/ln", "-s", unixPath(target), unixPath(link)) {
		t.Skip("could not make a Unix link")
	}
	if err := EnsurePrivateDir(link); !errors.Is(err, ErrReparsePoint) {
		t.Errorf("state folder that is a link = %v, want ErrReparsePoint", err)
	}
	if err := EnsurePrivateDir(filepath.Join(link, "inner")); !errors.Is(err, ErrReparsePoint) {
		t.Errorf("state folder under a link = %v, want ErrReparsePoint", err)
	}
	if err := EnsurePrivateDir(filepath.Join(link, "new")); !errors.Is(err, ErrReparsePoint) {
		t.Errorf("new state folder under a link = %v, want ErrReparsePoint", err)
	}
	if _, err := os.Stat(filepath.Join(target, "new")); err == nil {
		t.Error("a folder was made through the link")
	}
}

func TestCommandAllowsScripts(t *testing.T) {
	exe := `"C:\Program Files\warren\warren.exe"`
	for cmdline, want := range map[string]bool{
		exe + " service run wg0":                       false,
		exe + " service run --allow-scripts wg0":       true,
		exe + " service run wg0 --allow-scripts":       false, // not how the service is registered; refused by ParseArgs
		exe + " manager run --state x --allow-scripts": false,
		exe: false,
		"":  false,
	} {
		if got := commandAllowsScripts(cmdline); got != want {
			t.Errorf("commandAllowsScripts(%q) = %v, want %v", cmdline, got, want)
		}
	}
}

// The manager's interface to the tunnel services: install (the program
// folder's copy, not started), start, manual start, stop, list, remove.
// Under wine only: it registers a real service, which runs the test binary
// with the fake tunnel of TestMain.
func TestTunnelServiceControl(t *testing.T) {
	if !onWine() {
		t.Skip("installs into Program Files and registers a service: runs under wine only")
	}
	withFileSecurity(t, "", func(string) bool { return false })
	if err := os.MkdirAll(markDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	const name = "mctl0"
	for _, f := range []string{".up", ".down"} {
		os.Remove(filepath.Join(markDir(), name+f))
	}
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Disconnect()
	removeIfThere(m, ServiceName(name))
	defer removeIfThere(m, ServiceName(name))
	st, err := OpenDefaultStore()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(name, []byte("[Interface]\nPrivateKey = "+testKey+"\nListenPort = 51997\n")); err != nil {
		t.Fatal(err)
	}
	defer st.Delete(name)

	if got, err := QueryTunnelService(name); err != nil || got.Installed {
		t.Fatalf("before install: %+v, %v", got, err)
	}
	if _, err := InstallTunnelService(name, true); err != nil {
		t.Fatal(err)
	}
	got, err := QueryTunnelService(name)
	if err != nil || !got.Installed || got.State != svc.Stopped || !got.AutoStart || !got.AllowScripts {
		t.Fatalf("installed: %+v, %v; want stopped, automatic start, scripts allowed", got, err)
	}
	dir, _ := ProgramDir()
	if s, err := m.OpenService(ServiceName(name)); err == nil {
		if cmd := binaryPath(t, s); !strings.HasPrefix(cmd, syscall.EscapeArg(filepath.Join(dir, "warren.exe"))+" ") {
			t.Errorf("service runs %s, want the program folder's copy", cmd)
		}
		s.Close()
	}
	if err := StartTunnelService(name); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the service to bring the tunnel up", func() bool {
		b, err := os.ReadFile(filepath.Join(markDir(), name+".up"))
		return err == nil && string(b) == "51997"
	})
	if err := StartTunnelService(name); err != nil {
		t.Errorf("starting a running service: %v", err)
	}
	if err := SetTunnelServiceAutoStart(name, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := QueryTunnelService(name); got.AutoStart {
		t.Error("still starts with Windows")
	}
	all, err := ListTunnelServices()
	if err != nil || !all[name].Installed {
		t.Errorf("ListTunnelServices = %v, %v; want %s in it", all, err, name)
	}
	if err := StopTunnelService(name); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the service to stop", func() bool {
		got, err := QueryTunnelService(name)
		return err == nil && got.State == svc.Stopped
	})
	if _, err := os.Stat(filepath.Join(markDir(), name+".down")); err != nil {
		t.Error("the tunnel was not taken down")
	}
	if err := StopTunnelService(name); err != nil {
		t.Errorf("stopping a stopped service: %v", err)
	}
	if err := RemoveTunnelService(name); err != nil {
		t.Fatal(err)
	}
	if got, err := QueryTunnelService(name); err != nil || got.Installed {
		t.Errorf("after remove: %+v, %v", got, err)
	}
	if err := RemoveTunnelService(name); err != nil {
		t.Errorf("removing it again: %v", err)
	}
	if err := StartTunnelService(name); !errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		t.Errorf("starting a removed service: %v", err)
	}
}

// `warren manager install` registers the program folder's copy as the
// manager service with its state in %ProgramData%\warren, starts it,
// points to the setup link; `uninstall` stops and removes it. A manager
// that stops by itself stops the service with ExitManagerFailed. Under
// wine only: it registers real services running the test binary
// (TestMain, testManagerOptions).
func TestManagerService(t *testing.T) {
	if !onWine() {
		t.Skip("installs into Program Files and registers a service: runs under wine only")
	}
	withFileSecurity(t, "", func(string) bool { return false })
	if err := os.MkdirAll(markDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"manager.up", "manager.down"} {
		os.Remove(filepath.Join(markDir(), f))
	}
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Disconnect()
	removeIfThere(m, ManagerServiceName)
	defer removeIfThere(m, ManagerServiceName)

	var stdout, stderr bytes.Buffer
	if code := ManagerMain("warren manager", []string{"install", "--bogus"}, testManagerOptions, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "--bogus") {
		t.Errorf("install with a flag the manager refuses: exit %d, stderr %q", code, stderr.String())
	}
	if s, err := m.OpenService(ManagerServiceName); err == nil {
		s.Close()
		t.Fatal("registered despite a bad flag")
	}
	stderr.Reset()
	if code := ManagerMain("warren manager", []string{"install", "--allow-hooks"}, testManagerOptions, &stdout, &stderr); code != 0 {
		t.Fatalf("install: exit %d: %s", code, stderr.String())
	}
	state, err := ManagerStateDir()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the manager to run", func() bool {
		b, err := os.ReadFile(filepath.Join(markDir(), "manager.up"))
		return err == nil && string(b) == "--state "+state+" --allow-hooks"
	})
	for _, want := range []string{"Installed and started the manager service WarrenManager", "with its state in " + state,
		"setup link in " + filepath.Join(state, SetupLinkFile)} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("install said %q; want %q", stdout.String(), want)
		}
	}
	s, err := m.OpenService(ManagerServiceName)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := ProgramDir()
	want := syscall.EscapeArg(filepath.Join(dir, "warren.exe")) + " manager run --state " + syscall.EscapeArg(state) + " --allow-hooks"
	if got := binaryPath(t, s); got != want {
		t.Errorf("service command line %q, want %q", got, want)
	}
	if startType, _, err := serviceConfig(s.Handle); err != nil || startType != mgr.StartAutomatic {
		t.Errorf("start type %d, %v; want automatic", startType, err)
	}
	s.Close()
	stderr.Reset()
	if code := ManagerMain("warren manager", []string{"install"}, testManagerOptions, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "uninstall` first") {
		t.Errorf("second install: exit %d, stderr %q", code, stderr.String())
	}
	stdout.Reset()
	if code := ManagerMain("warren manager", []string{"uninstall"}, testManagerOptions, &stdout, &stderr); code != 0 {
		t.Fatalf("uninstall: exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(markDir(), "manager.down")); err != nil {
		t.Error("the manager was not asked to stop")
	}
	if s, err := m.OpenService(ManagerServiceName); err == nil {
		s.Close()
		t.Error("still registered after uninstall")
	}
	if !strings.Contains(stdout.String(), "Kept the manager's state in "+state) {
		t.Errorf("uninstall said %q", stdout.String())
	}
	stderr.Reset()
	if code := ManagerMain("warren manager", []string{"uninstall"}, testManagerOptions, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "not installed") {
		t.Errorf("second uninstall: exit %d, stderr %q", code, stderr.String())
	}

	// A manager that cannot serve stops its service with an error.
	exe, _ := os.Executable()
	s, err = createManagerService(m, exe, ManagerServiceArgs(state, []string{"--fail"}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := waitRunning(s, managerStartTimeout); err == nil {
		// It may be seen running before it fails.
		waitFor(t, "the failing manager's service to stop", func() bool {
			st, err := s.Query()
			return err == nil && st.State == svc.Stopped
		})
	}
	st, err := s.Query()
	if err != nil || st.State != svc.Stopped || st.ServiceSpecificExitCode != ExitManagerFailed {
		t.Errorf("failing manager: %+v, %v; want stopped with service-specific exit %d", st, err, ExitManagerFailed)
	}

	// Outside the service manager, run says who starts it. (In a process
	// of its own: wine lets a process try the service dispatcher once.)
	out, err := exec.Command(exe, "manager", "run").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "only the service manager") {
		t.Errorf("run outside a service: %v, output %q", err, out)
	}
}
