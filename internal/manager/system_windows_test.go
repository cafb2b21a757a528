package manager

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
	"github.com/warren-vpn/warren/internal/winsvc"
)

// TestMain lets the test binary be a tunnel service: the service manager
// starts it as "TEST.exe service run NAME", and it then serves a device on
// NAME's pipe in WireGuard's namespace (uapi.PipeDir) until stopped, as a
// tunnel service does once its tunnel is up.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "service" && os.Args[2] == "run" {
		if err := svc.Run(winsvc.ServiceName(os.Args[3]), &pipeService{name: os.Args[3]}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// pipeTestPort is the listen port of pipeService's device.
const pipeTestPort = 51990

// pipeService serves a device over UAPI in uapi.PipeDir while it runs.
type pipeService struct{ name string }

type pipeDevice struct{ d wgtypes.Device }

func (d *pipeDevice) Apply(*wgtypes.Config) error { return nil }
func (d *pipeDevice) State() *wgtypes.Device      { c := d.d; return &c }

func (s *pipeService) Execute(_ []string, requests <-chan svc.ChangeRequest, changes chan<- svc.Status) (bool, uint32) {
	changes <- svc.Status{State: svc.StartPending}
	l, err := uapi.Listen(uapi.PipeDir, s.name)
	if err != nil {
		return true, winsvc.ExitUpFailed
	}
	done := make(chan struct{})
	go func() { uapi.Serve(l, &pipeDevice{d: wgtypes.Device{ListenPort: pipeTestPort}}, nil); close(done) }()
	changes <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for r := range requests {
		switch r.Cmd {
		case svc.Stop, svc.Shutdown:
			changes <- svc.Status{State: svc.StopPending}
			l.Close()
			<-done
			return false, 0
		default:
			changes <- r.CurrentStatus
		}
	}
	return false, 0
}

func onWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// testCipher seals nothing: the DPAPI store is winsvc's to test.
type testCipher struct{}

func (testCipher) Seal(name string, p []byte) ([]byte, error) {
	return append([]byte(name+"\n"), p...), nil
}
func (testCipher) Open(name string, b []byte) ([]byte, error) {
	rest, ok := strings.CutPrefix(string(b), name+"\n")
	if !ok {
		return nil, errors.New("not sealed for " + name)
	}
	return []byte(rest), nil
}

// The manager's Windows System through the real service manager and named
// pipes: a tunnel service (the test binary, registered here as `warren
// service install` registers one) is seen in the list, started by
// activating the tunnel, its device read over UAPI in WireGuard's pipe
// namespace (owned by SYSTEM, as Dial insists), stopped and kept from
// starting with Windows by deactivating, and removed with the tunnel.
// Under wine only: it registers a real service. (Installing the service
// from the manager copies the program into Program Files and checks who may
// change it, which wine, where the user owns every file, refuses; winsvc's
// TestTunnelServiceControl covers it with wine's descriptors replaced.)
func TestWindowsServicesThroughServiceManager(t *testing.T) {
	if !onWine() {
		t.Skip("registers a service: runs under wine only")
	}
	const name = "mgrsvc0"
	services := windowsServices{}
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Disconnect()
	remove := func() {
		if s, err := m.OpenService(winsvc.ServiceName(name)); err == nil {
			s.Control(svc.Stop)
			s.Delete()
			s.Close()
		}
	}
	remove()
	defer remove()
	if st, err := services.Query(name); err != nil || st.Installed() || st.State != ServiceNotInstalled {
		t.Fatalf("before: %+v, %v", st, err)
	}
	exe, _ := os.Executable()
	s, err := m.CreateService(winsvc.ServiceName(name), exe, mgr.Config{StartType: mgr.StartManual}, winsvc.ServiceArgs(name, false)...)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	files := &winsvc.Store{Dir: t.TempDir(), Cipher: testCipher{}}
	store := &SealedStore{Files: files, Services: services}
	sys := &ServiceSystem{Services: services, Store: store, SocketDir: uapi.PipeDir,
		LogPath: func(n string) (string, error) { return filepath.Join(files.Dir, n+".bin"), nil }}
	k, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Write(name, []byte("[Interface]\nPrivateKey = "+k.Base64()+"\n")); err != nil {
		t.Fatal(err)
	}
	st, err := services.Query(name)
	if err != nil || st.State != ServiceStopped || st.AutoStart || st.AllowScripts {
		t.Fatalf("registered: %+v, %v; want stopped, manual start, no scripts", st, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := sys.Up(ctx, name)
	if err != nil {
		t.Fatalf("Up: %v (output %q)", err, out)
	}
	if !strings.Contains(out, "starts with Windows again") || !strings.Contains(out, "[#] started service "+winsvc.ServiceName(name)) {
		t.Errorf("Up said %q", out)
	}
	if st, _ := services.Query(name); st.State != ServiceRunning || !st.AutoStart {
		t.Errorf("after Up: %+v", st)
	}
	dev, err := sys.Device(name)
	if err != nil || dev.ListenPort != pipeTestPort {
		t.Fatalf("Device over %s: %+v, %v", uapi.PipeDir, dev, err)
	}
	names, err := sys.Interfaces()
	if err != nil || !strings.Contains(strings.Join(names, " "), name) {
		t.Errorf("Interfaces = %q, %v", names, err)
	}
	if states, err := sys.ServiceStates(); err != nil || states[name] != ServiceRunning {
		t.Errorf("ServiceStates = %v, %v", states, err)
	}

	out, err = sys.Down(ctx, name)
	if err != nil {
		t.Fatalf("Down: %v (output %q)", err, out)
	}
	if st, _ := services.Query(name); st.State != ServiceStopped || st.AutoStart {
		t.Errorf("after Down: %+v", st)
	}
	if _, err := sys.Device(name); err == nil {
		t.Error("the device still answers")
	}

	if err := store.Delete(name); err != nil {
		t.Fatal(err)
	}
	if st, err := services.Query(name); err != nil || st.Installed() {
		t.Errorf("after delete: %+v, %v", st, err)
	}
	if _, err := store.Read(name); !errors.Is(err, ErrNotFound) {
		t.Errorf("configuration after delete: %v", err)
	}
}

// The service manager's states map to the manager's.
func TestServiceStatusMapping(t *testing.T) {
	for _, tt := range []struct {
		in   winsvc.TunnelServiceStatus
		want ServiceStatus
	}{
		{winsvc.TunnelServiceStatus{}, ServiceStatus{State: ServiceNotInstalled}},
		{winsvc.TunnelServiceStatus{Installed: true, State: svc.Running, AutoStart: true}, ServiceStatus{State: ServiceRunning, AutoStart: true}},
		{winsvc.TunnelServiceStatus{Installed: true, State: svc.StartPending, AllowScripts: true}, ServiceStatus{State: ServiceStarting, AllowScripts: true}},
		{winsvc.TunnelServiceStatus{Installed: true, State: svc.StopPending}, ServiceStatus{State: ServiceStopping}},
		{winsvc.TunnelServiceStatus{Installed: true, State: svc.Paused}, ServiceStatus{State: ServiceOther}},
		{winsvc.TunnelServiceStatus{Installed: true, State: svc.Stopped, Win32ExitCode: uint32(windows.ERROR_SERVICE_SPECIFIC_ERROR), ServiceExitCode: winsvc.ExitTunnelDied},
			ServiceStatus{State: ServiceStopped, ExitCode: winsvc.ExitTunnelDied}},
		{winsvc.TunnelServiceStatus{Installed: true, State: svc.Stopped, Win32ExitCode: 1067}, ServiceStatus{State: ServiceStopped, ExitCode: 1067}},
	} {
		if got := serviceStatus(tt.in); got != tt.want {
			t.Errorf("serviceStatus(%+v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// The groups of the account running the tests (an elevated administrator
// on Windows; under wine, whose NetUserGetLocalGroups names Administrators
// for anyone, the one user) include Administrators; a name that is no
// account is refused.
func TestWindowsOperatorGroups(t *testing.T) {
	user := os.Getenv("USERNAME")
	if user == "" {
		t.Skip("no USERNAME")
	}
	sids, err := windowsOperatorGroups(user)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s is in %q", user, sids)
	if !windows.GetCurrentProcessToken().IsElevated() {
		return
	}
	if err := (&ServiceSystem{OperatorGroups: windowsOperatorGroups}).CheckOperator(user); err != nil {
		t.Errorf("an elevated administrator may not be an operator: %v (groups %q)", err, sids)
	}
	if _, err := windowsOperatorGroups("no-such-account-7f3a"); err == nil {
		t.Error("an account that does not exist has groups")
	}
}
