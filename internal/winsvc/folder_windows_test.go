package winsvc

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// The descriptors the install tests give fileSecurity: wine's own make
// the user own every file, so that everything would be refused.
const (
	sddlAdminOnly = "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"
	sddlUserOwned = "O:S-1-5-21-1004336348-1177238915-682003330-1001D:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;S-1-5-21-1004336348-1177238915-682003330-1001)"
)

// withFileSecurity makes fileSecurity answer sddl for every path for
// which under says so, and sddlAdminOnly for the others.
func withFileSecurity(t *testing.T, sddl string, under func(string) bool) {
	t.Helper()
	old := fileSecurity
	fileSecurity = func(p string) (string, error) {
		if under(p) {
			return sddl, nil
		}
		return sddlAdminOnly, nil
	}
	t.Cleanup(func() { fileSecurity = old })
}

// binaryPath is the command line a service runs (mgr's Config also asks
// for levels wine lacks).
func binaryPath(t *testing.T, s *mgr.Service) string {
	t.Helper()
	var need uint32
	windows.QueryServiceConfig(s.Handle, nil, 0, &need)
	buf := make([]byte, need)
	cfg := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
	if err := windows.QueryServiceConfig(s.Handle, cfg, need, &need); err != nil {
		t.Fatal(err)
	}
	return windows.UTF16PtrToString(cfg.BinaryPathName)
}

func writeConf(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".conf")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func removeIfThere(m *mgr.Mgr, service string) {
	if s, err := m.OpenService(service); err == nil {
		s.Control(svc.Stop)
		s.Delete()
		s.Close()
	}
}

// `warren service install`, run from wherever (here the test binary's
// build folder), copies the program into %ProgramFiles%\warren and
// registers that copy, which then runs the tunnel. Under wine only: it
// registers a real service.
func TestInstallRegistersProgramFolderCopy(t *testing.T) {
	if !onWine() {
		t.Skip("installs into Program Files and registers a service: runs under wine only")
	}
	withFileSecurity(t, "", func(string) bool { return false })
	if err := os.MkdirAll(markDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	const name = "winst0"
	os.Remove(filepath.Join(markDir(), name+".up"))
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Disconnect()
	removeIfThere(m, ServiceName(name)) // left by an earlier run in a reused prefix
	defer removeIfThere(m, ServiceName(name))
	path := writeConf(t, name, "[Interface]\nPrivateKey = "+testKey+"\nListenPort = 51998\n")
	var stdout, stderr bytes.Buffer
	if code := Main("warren", []string{"service", "install", path}, Options{}, &stdout, &stderr); code != 0 {
		t.Fatalf("install: exit %d: %s", code, stderr.String())
	}
	dir, err := ProgramDir()
	if err != nil {
		t.Fatal(err)
	}
	installed := filepath.Join(dir, "warren.exe")
	s, err := m.OpenService(ServiceName(name))
	if err != nil {
		t.Fatal(err)
	}
	got := binaryPath(t, s)
	s.Close() // a deleted service lingers while a handle is open
	if !strings.HasPrefix(got, syscall.EscapeArg(installed)+" ") {
		t.Errorf("service runs %s, want %s", got, installed)
	}
	exe, _ := os.Executable()
	if same, err := sameContent(exe, installed); !same || err != nil {
		t.Errorf("%s is not a copy of %s (%v)", installed, exe, err)
	}
	if !strings.Contains(stdout.String(), "running "+installed) {
		t.Errorf("install said %q", stdout.String())
	}
	waitFor(t, "the installed copy to bring the tunnel up", func() bool {
		b, err := os.ReadFile(filepath.Join(markDir(), name+".up"))
		return err == nil && string(b) == "51998"
	})

	stdout.Reset()
	if code := Main("warren", []string{"service", "uninstall", name}, Options{}, &stdout, &stderr); code != 0 {
		t.Fatalf("uninstall: exit %d: %s", code, stderr.String())
	}
	if s, err := m.OpenService(ServiceName(name)); err == nil {
		s.Close()
		t.Error("service still registered after uninstall")
	}
}

// A program folder a non-administrator can change is refused before
// anything is registered or stored, with a message that says where, who
// and why.
func TestInstallRefusesWritableProgramFolder(t *testing.T) {
	if !onWine() {
		t.Skip("installs into Program Files: runs under wine only")
	}
	dir, err := ProgramDir()
	if err != nil {
		t.Fatal(err)
	}
	withFileSecurity(t, sddlUserOwned, func(p string) bool { return strings.EqualFold(p, dir) })
	const name = "winst1"
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Disconnect()
	removeIfThere(m, ServiceName(name)) // left by an earlier run in a reused prefix
	defer removeIfThere(m, ServiceName(name))
	st, err := openDefaultStore()
	if err != nil {
		t.Fatal(err)
	}
	st.Delete(name)
	defer st.Delete(name)
	path := writeConf(t, name, "[Interface]\nPrivateKey = "+testKey+"\n")
	var stdout, stderr bytes.Buffer
	if code := Main("warren", []string{"service", "install", path}, Options{}, &stdout, &stderr); code != 1 {
		t.Fatalf("install into a folder users can change: exit %d, stdout %q", code, stdout.String())
	}
	for _, want := range []string{"refusing to register", dir + ", the folder of", "can be changed by a non-administrator",
		"S-1-5-21-1004336348-1177238915-682003330-1001", "owns it", "run as SYSTEM"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("error %q does not say %q", stderr.String(), want)
		}
	}
	if s, err := m.OpenService(ServiceName(name)); err == nil {
		s.Close()
		t.Error("the service was registered")
	}
	if _, err := st.Load(name); !errors.Is(err, ErrNotFound) {
		t.Errorf("the configuration was stored: %v", err)
	}
}

// `warren service uninstall --all` removes every tunnel service and keeps
// the stored configurations, and says so.
func TestUninstallAll(t *testing.T) {
	if !onWine() {
		t.Skip("registers services: runs under wine only")
	}
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Disconnect()
	st, err := openDefaultStore()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	names := []string{"uall0", "uall1"}
	for _, n := range names {
		defer removeIfThere(m, ServiceName(n))
		defer st.Delete(n)
		if err := st.Save(n, []byte("[Interface]\nPrivateKey = "+testKey+"\n")); err != nil {
			t.Fatal(err)
		}
		s, err := createService(m, n, exe, ServiceArgs(n, false))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	var stdout, stderr bytes.Buffer
	if code := Main("warren", []string{"service", "uninstall", "--all"}, Options{}, &stdout, &stderr); code != 0 {
		t.Fatalf("uninstall --all: exit %d: %s", code, stderr.String())
	}
	for _, n := range names {
		if s, err := m.OpenService(ServiceName(n)); err == nil {
			s.Close()
			t.Errorf("%s still registered", ServiceName(n))
		}
		if !strings.Contains(stdout.String(), "Removed tunnel service "+ServiceName(n)+"\n") {
			t.Errorf("output %q does not report %s", stdout.String(), n)
		}
		if _, err := st.Load(n); err != nil {
			t.Errorf("stored configuration of %s: %v", n, err)
		}
	}
	if !strings.Contains(stdout.String(), "Kept the stored configurations of uall0, uall1") {
		t.Errorf("output %q does not say the configurations were kept", stdout.String())
	}
	stdout.Reset()
	if code := Main("warren", []string{"service", "uninstall", "--all"}, Options{}, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "No warren tunnel services are installed") {
		t.Errorf("second uninstall --all: exit %d, %q, %q", code, stdout.String(), stderr.String())
	}
}

// Tunnel services restart after failing, also when they stop with an
// error rather than crash. Wine's service manager may keep none of it.
func TestCreateServiceSetsRecovery(t *testing.T) {
	if !onWine() {
		t.Skip("registers a service: runs under wine only")
	}
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Disconnect()
	exe, _ := os.Executable()
	const name = "recov0"
	defer removeIfThere(m, ServiceName(name))
	s, err := createService(m, name, exe, ServiceArgs(name, false))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.RecoveryActions()
	if errors.Is(err, windows.ERROR_INVALID_LEVEL) || (err == nil && len(got) == 0) {
		t.Skipf("wine keeps no failure actions (%v, %v)", got, err)
	}
	if err != nil || !slices.Equal(got, recoveryActions) {
		t.Errorf("RecoveryActions = %v, %v; want %v", got, err, recoveryActions)
	}
	if p, err := s.ResetPeriod(); err != nil || p != recoveryResetPeriod {
		t.Errorf("ResetPeriod = %d, %v", p, err)
	}
	if on, err := s.RecoveryActionsOnNonCrashFailures(); err != nil || !on {
		t.Errorf("RecoveryActionsOnNonCrashFailures = %v, %v", on, err)
	}
}
