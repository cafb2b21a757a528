package winsvc

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/warren-vpn/warren/internal/conf"
)

// TestMain lets the test binary be a tunnel service: the service manager
// starts it as "TEST.exe service run NAME", and it then runs the real run
// loop with a fake Tunnel that leaves marks in markDir; as "TEST.exe
// manager run ..." it is the manager service with a fake manager.
func TestMain(m *testing.M) {
	if len(os.Args) >= 3 && os.Args[1] == "service" && os.Args[2] == "run" {
		os.Exit(Main("warren", os.Args[1:], Options{NewTunnel: newMarkTunnel}, os.Stdout, os.Stderr))
	}
	if len(os.Args) >= 3 && os.Args[1] == "manager" && os.Args[2] == "run" {
		os.Exit(ManagerMain("warren manager", os.Args[2:], testManagerOptions, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// markDir is where the fake tunnel of a service test leaves its marks.
func markDir() string { return filepath.Join(os.Getenv("SystemRoot"), "Temp", "warren-service-test") }

// markTunnel records Up and Down as files, the configuration's ListenPort
// in Up's.
type markTunnel struct{ name string }

func newMarkTunnel(name string) (Tunnel, error) { return &markTunnel{name: name}, nil }

func (t *markTunnel) Up(cfg *conf.File) error {
	port := 0
	if cfg.Interface.ListenPort != nil {
		port = int(*cfg.Interface.ListenPort)
	}
	return os.WriteFile(filepath.Join(markDir(), t.name+".up"), fmt.Appendf(nil, "%d", port), 0o600)
}

func (t *markTunnel) Down() error {
	return os.WriteFile(filepath.Join(markDir(), t.name+".down"), nil, 0o600)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// TestServiceRunLoop installs the test binary as a tunnel service, starts
// and stops it through the service manager, and checks that the run loop
// brought the stored configuration up and down — and that it refuses a
// configuration with hooks. Under wine only: it registers real services.
func TestServiceRunLoop(t *testing.T) {
	if !onWine() {
		t.Skip("registers services with the service manager: runs under wine only")
	}
	if err := os.MkdirAll(markDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := openDefaultStore()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Disconnect()

	cases := []struct {
		name, text   string
		allowScripts bool
		up           bool
	}{
		{"svctest0", "[Interface]\nPrivateKey = " + testKey + "\nListenPort = 51999\nAddress = 10.0.0.1/24\n", false, true},
		{"svchook0", "[Interface]\nPrivateKey = " + testKey + "\nPostUp = calc.exe\n", false, false},
		{"svchook1", "[Interface]\nPrivateKey = " + testKey + "\nListenPort = 51999\nPostUp = calc.exe\n", true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(filepath.Join(markDir(), c.name+".up"))
			os.Remove(filepath.Join(markDir(), c.name+".down"))
			if err := st.Save(c.name, []byte(c.text)); err != nil {
				t.Fatal(err)
			}
			defer st.Delete(c.name)
			s, err := createService(m, c.name, exe, ServiceArgs(c.name, c.allowScripts))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				s.Control(svc.Stop)
				s.Delete()
				s.Close()
			}()
			if sd, err := windows.GetSecurityInfo(s.Handle, windows.SE_SERVICE, windows.DACL_SECURITY_INFORMATION); err != nil {
				t.Errorf("service DACL: %v", err)
			} else if got := sd.String(); got != ServiceSecurityDescriptor {
				// Wine's service manager keeps no DACL (it reads "D:").
				t.Logf("service DACL reads %s, set %s (wine keeps none)", got, ServiceSecurityDescriptor)
			}
			if err := s.Start(); err != nil {
				t.Fatalf("Start: %v", err)
			}
			state := func() svc.State {
				st, err := s.Query()
				if err != nil {
					t.Fatalf("Query: %v", err)
				}
				return st.State
			}
			if !c.up {
				waitFor(t, "the service to stop by itself", func() bool { return state() == svc.Stopped })
				if exists(filepath.Join(markDir(), c.name+".up")) {
					t.Error("the tunnel came up despite hooks nobody allowed")
				}
				return
			}
			waitFor(t, "the service to run", func() bool { return state() == svc.Running })
			up, err := os.ReadFile(filepath.Join(markDir(), c.name+".up"))
			if err != nil || string(up) != "51999" {
				t.Errorf("Up mark = %q, %v; want the stored configuration's port", up, err)
			}
			if _, err := s.Control(svc.Stop); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			waitFor(t, "the service to stop", func() bool { return state() == svc.Stopped })
			if !exists(filepath.Join(markDir(), c.name+".down")) {
				t.Error("the tunnel was not taken down on stop")
			}
		})
	}
	if s, err := m.OpenService(ServiceName("svctest0")); err == nil {
		s.Close()
		t.Error("service still registered after the test deleted it")
	}
}
