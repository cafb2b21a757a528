package manager_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/ringlog"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
	"github.com/warren-vpn/warren/internal/winsvc"
)

// testCipher stands in for DPAPI: reversible, bound to the name, and the
// stored bytes are not the configuration's.
type testCipher struct{}

func (testCipher) Seal(name string, plain []byte) ([]byte, error) {
	out := append([]byte("sealed:"+name+":"), plain...)
	for i := len(name) + 8; i < len(out); i++ {
		out[i] ^= 0x5a
	}
	return out, nil
}

func (testCipher) Open(name string, sealed []byte) ([]byte, error) {
	prefix := []byte("sealed:" + name + ":")
	if !bytes.HasPrefix(sealed, prefix) {
		return nil, errors.New("not sealed for " + name)
	}
	out := bytes.Clone(sealed[len(prefix):])
	for i := range out {
		out[i] ^= 0x5a
	}
	return out, nil
}

// fakeServices is a service manager in memory whose services serve a
// device over real UAPI (in sockDir) from the stored configuration, and
// log into ring logs as the tunnel services do.
type fakeServices struct {
	t       *testing.T
	store   manager.Store
	sockDir string
	logDir  string

	mu       sync.Mutex
	services map[string]*fakeService
	calls    []string
	// failUp makes a tunnel's service stop at start with this error in
	// its log.
	failUp map[string]string
}

type fakeService struct {
	st       manager.ServiceStatus
	listener net.Listener
	served   chan struct{}
	dev      *fakeDevice
}

func newFakeServices(t *testing.T, store manager.Store) *fakeServices {
	s := &fakeServices{t: t, store: store, sockDir: t.TempDir(), logDir: t.TempDir(),
		services: map[string]*fakeService{}, failUp: map[string]string{}}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, svc := range s.services {
			svc.stopLocked()
		}
	})
	return s
}

func (s *fakeServices) logPath(name string) (string, error) {
	return filepath.Join(s.logDir, name+winsvc.LogExt), nil
}

func (s *fakeServices) log(name, tag, text string) {
	p, _ := s.logPath(name)
	l, err := ringlog.Open(p, ringlog.Options{Lines: 64})
	if err != nil {
		s.t.Error(err)
		return
	}
	defer l.Close()
	l.Write(tag, text)
}

func (s *fakeServices) record(format string, args ...any) {
	s.calls = append(s.calls, fmt.Sprintf(format, args...))
}

func (s *fakeServices) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *fakeServices) Query(name string) (manager.ServiceStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if svc := s.services[name]; svc != nil {
		return svc.st, nil
	}
	return manager.ServiceStatus{State: manager.ServiceNotInstalled}, nil
}

func (s *fakeServices) List() (map[string]manager.ServiceStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]manager.ServiceStatus{}
	for name, svc := range s.services {
		out[name] = svc.st
	}
	return out, nil
}

func (s *fakeServices) Install(name string, allowScripts bool) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("install %s scripts=%v", name, allowScripts)
	if s.services[name] != nil {
		return nil, errors.New("exists")
	}
	s.services[name] = &fakeService{st: manager.ServiceStatus{State: manager.ServiceStopped, AutoStart: true, AllowScripts: allowScripts}}
	return []string{"no wintun.dll beside warren.exe"}, nil
}

func (s *fakeServices) SetAutoStart(name string, auto bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("autostart %s %v", name, auto)
	svc := s.services[name]
	if svc == nil {
		return errors.New("no service")
	}
	svc.st.AutoStart = auto
	return nil
}

// Start brings the device up from the stored configuration at once (the
// "service" reports running when its pipe serves), or fails as asked.
func (s *fakeServices) Start(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("start %s", name)
	svc := s.services[name]
	if svc == nil {
		return errors.New("no service")
	}
	if svc.st.State == manager.ServiceRunning {
		return nil
	}
	if msg, ok := s.failUp[name]; ok {
		s.log(name, winsvc.LogTagService, "starting")
		s.log(name, winsvc.LogTagError, msg)
		svc.st.State, svc.st.ExitCode = manager.ServiceStopped, winsvc.ExitUpFailed
		return nil
	}
	data, err := s.store.Read(name)
	if err != nil {
		return err
	}
	f, err := conf.Parse(name, data, conf.Options{Quick: true})
	if err != nil {
		return err
	}
	dev := &fakeDevice{}
	dev.d.PrivateKey = *f.Interface.PrivateKey
	dev.d.PublicKey = f.Interface.PrivateKey.PublicKey()
	if f.Interface.ListenPort != nil {
		dev.d.ListenPort = *f.Interface.ListenPort
	}
	for _, p := range f.Peers {
		dev.d.Peers = append(dev.d.Peers, wgtypes.Peer{PublicKey: p.PublicKey, AllowedIPs: p.AllowedIPs})
	}
	l, err := uapi.Listen(s.sockDir, name)
	if err != nil {
		return err
	}
	svc.listener, svc.served, svc.dev = l, make(chan struct{}), dev
	go func(done chan struct{}) { uapi.Serve(l, dev, nil); close(done) }(svc.served)
	svc.st.State, svc.st.ExitCode = manager.ServiceRunning, 0
	s.log(name, winsvc.LogTagTunnel, "interface up")
	return nil
}

func (svc *fakeService) stopLocked() {
	if svc.listener != nil {
		svc.listener.Close()
		<-svc.served
		svc.listener = nil
	}
	svc.st.State = manager.ServiceStopped
}

func (s *fakeServices) Stop(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("stop %s", name)
	if svc := s.services[name]; svc != nil {
		svc.stopLocked()
	}
	return nil
}

func (s *fakeServices) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("remove %s", name)
	if svc := s.services[name]; svc != nil {
		svc.stopLocked()
		delete(s.services, name)
	}
	return nil
}

func (s *fakeServices) ServiceName(tunnel string) string { return winsvc.ServiceName(tunnel) }

// fakeDevice is a device behind UAPI: State reports it, Apply records the
// last change.
type fakeDevice struct {
	mu      sync.Mutex
	d       wgtypes.Device
	applied []*wgtypes.Config
}

func (d *fakeDevice) State() *wgtypes.Device {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.d
	c.Peers = slices.Clone(d.d.Peers)
	return &c
}

func (d *fakeDevice) Apply(cfg *wgtypes.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.applied = append(d.applied, cfg)
	if cfg.ListenPort != nil {
		d.d.ListenPort = *cfg.ListenPort
	}
	return nil
}

type serviceFixture struct {
	m     *manager.Manager
	sys   *manager.ServiceSystem
	store *manager.SealedStore
	svcs  *fakeServices
	dir   string
}

// newServiceFixture is a manager over ServiceSystem and SealedStore (a
// winsvc.Store with testCipher) with fake services, as on Windows.
func newServiceFixture(t *testing.T, mod func(*manager.ServiceSystem), mmod func(*manager.Options)) *serviceFixture {
	t.Helper()
	dir := t.TempDir()
	files := &winsvc.Store{Dir: dir, Cipher: testCipher{}}
	store := &manager.SealedStore{Files: files}
	svcs := newFakeServices(t, store)
	store.Services = svcs
	sys := &manager.ServiceSystem{Services: svcs, Store: store, SocketDir: svcs.sockDir, LogPath: svcs.logPath, Poll: 5 * time.Millisecond}
	if mod != nil {
		mod(sys)
	}
	opts := manager.Options{System: sys, Store: store, StateDir: filepath.Join(t.TempDir(), "state"), Argon2: cheap, SamplePeriod: time.Hour}
	if mmod != nil {
		mmod(&opts)
	}
	m, err := manager.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &serviceFixture{m: m, sys: sys, store: store, svcs: svcs, dir: dir}
}

func (f *serviceFixture) tunnel(t *testing.T, name string) *manager.Tunnel {
	t.Helper()
	tun, err := f.m.Tunnel(name)
	if err != nil {
		t.Fatal(err)
	}
	return tun
}

// A tunnel's life through the services, as the manager drives it on
// Windows: activating installs the service (hooks not allowed) and
// starts it, the device answers over UAPI; deactivating stops it and
// keeps it from starting with the machine; activating again starts it
// with the machine again; deleting removes the service and the sealed
// configuration.
func TestServiceSystemLifecycle(t *testing.T) {
	f := newServiceFixture(t, nil, nil)
	ctx := context.Background()
	self, peer := newKey(t), newKey(t)
	if _, err := f.m.Import("wg0", []byte(config(self, 51820, "alice", peer, "10.8.0.2/32"))); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(f.dir, "wg0"+winsvc.StoreExt))
	if err != nil || bytes.Contains(raw, []byte(self.priv.Base64())) {
		t.Fatalf("stored file: %v; holds the key in clear: %v", err, bytes.Contains(raw, []byte(self.priv.Base64())))
	}
	if got := f.tunnel(t, "wg0"); got.Running || got.Service != manager.ServiceNotInstalled || got.ListenPort != 51820 {
		t.Errorf("imported: running %v, service %q, port %d", got.Running, got.Service, got.ListenPort)
	}

	res, err := f.m.Activate(ctx, "wg0")
	if err != nil {
		t.Fatalf("activate: %v (output %q)", err, res.Output)
	}
	for _, want := range []string{"[#] note: no wintun.dll", "[#] installed service WarrenTunnel$wg0", "[#] started service WarrenTunnel$wg0"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("output %q lacks %q", res.Output, want)
		}
	}
	if calls := f.svcs.Calls(); !slices.Equal(calls, []string{"install wg0 scripts=false", "start wg0"}) {
		t.Errorf("calls %q", calls)
	}
	got := f.tunnel(t, "wg0")
	if !got.Running || got.Service != manager.ServiceRunning || got.PublicKey != self.pub || len(got.Peers) != 1 || got.Peers[0].Name != "alice" {
		t.Errorf("active: %+v", got)
	}
	ts, err := f.m.Tunnels()
	if err != nil || len(ts) != 1 || !ts[0].Running {
		t.Errorf("Tunnels = %+v, %v", ts, err)
	}
	// An edit reaches the running device through its UAPI.
	if _, err := f.m.Update(ctx, "wg0", []byte(config(self, 51821, "alice", peer, "10.8.0.2/32"))); err != nil {
		t.Fatal(err)
	}
	if got := f.tunnel(t, "wg0"); got.ListenPort != 51821 {
		t.Errorf("after the edit the device listens on %d", got.ListenPort)
	}
	// The device's log is the service's ring log.
	r, err := f.m.OpenLog("wg0")
	if err != nil {
		t.Fatal(err)
	}
	lines, _ := r.Next()
	r.Close()
	if len(lines) == 0 || lines[len(lines)-1].Text != "interface up" {
		t.Errorf("log %+v", lines)
	}

	res, err = f.m.Deactivate(ctx, "wg0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Output, "no longer starts with Windows") || !strings.Contains(res.Output, "[#] stopped service WarrenTunnel$wg0") {
		t.Errorf("deactivate said %q", res.Output)
	}
	if st, _ := f.svcs.Query("wg0"); st.State != manager.ServiceStopped || st.AutoStart {
		t.Errorf("deactivated service: %+v", st)
	}
	if got := f.tunnel(t, "wg0"); got.Running || got.Service != manager.ServiceStopped {
		t.Errorf("inactive: running %v, service %q", got.Running, got.Service)
	}

	if _, err := f.m.Activate(ctx, "wg0"); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.svcs.Query("wg0"); st.State != manager.ServiceRunning || !st.AutoStart {
		t.Errorf("activated again: %+v", st)
	}
	calls := f.svcs.Calls()
	if n := len(calls); n < 2 || calls[n-2] != "autostart wg0 true" || calls[n-1] != "start wg0" {
		t.Errorf("activated again with calls %q; want the start type back, then start, no second install", calls)
	}

	if _, err := f.m.Delete(ctx, "wg0"); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.svcs.Query("wg0"); st.Installed() {
		t.Errorf("service after delete: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "wg0"+winsvc.StoreExt)); err == nil {
		t.Error("the sealed configuration is still there")
	}
	if _, err := f.m.Tunnel("wg0"); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("deleted tunnel: %v", err)
	}
}

// Hook commands run only where `warren service`'s policy lets them:
// refused for a new service unless the manager may install services with
// --allow-scripts or the machine-wide opt-in is on; an installed service
// keeps its own setting.
func TestServiceSystemHooks(t *testing.T) {
	ctx := context.Background()
	hooked := config(newKey(t), 51820, "", newKey(t), "10.8.0.2/32") + "\n[Interface]\nPostUp = calc.exe\n"
	importHooked := func(f *serviceFixture) {
		t.Helper()
		if _, err := f.m.Import("hk0", []byte(hooked)); err != nil {
			t.Fatal(err)
		}
	}
	allowImports := func(o *manager.Options) { o.AllowHooks = true }

	f := newServiceFixture(t, nil, allowImports)
	importHooked(f)
	res, err := f.m.Activate(ctx, "hk0")
	if !errors.Is(err, manager.ErrHooks) || !errors.Is(err, winsvc.ErrScriptsRefused) || !strings.Contains(err.Error(), "PostUp") {
		t.Fatalf("activate with hooks nobody allowed: %v", err)
	}
	if res == nil || len(f.svcs.Calls()) != 0 {
		t.Errorf("something was done: %+v, calls %q", res, f.svcs.Calls())
	}

	f = newServiceFixture(t, func(s *manager.ServiceSystem) { s.AllowHooks = true }, allowImports)
	importHooked(f)
	if _, err := f.m.Activate(ctx, "hk0"); err != nil {
		t.Fatal(err)
	}
	if calls := f.svcs.Calls(); len(calls) == 0 || calls[0] != "install hk0 scripts=true" {
		t.Errorf("calls %q; want the service installed with --allow-scripts", calls)
	}

	f = newServiceFixture(t, func(s *manager.ServiceSystem) { s.HooksAllowedMachineWide = func() bool { return true } }, allowImports)
	importHooked(f)
	if _, err := f.m.Activate(ctx, "hk0"); err != nil {
		t.Fatalf("with the machine-wide opt-in: %v", err)
	}

	// A service installed without scripts (by `warren service install`)
	// stays without, even for a manager that may allow them.
	f = newServiceFixture(t, func(s *manager.ServiceSystem) { s.AllowHooks = true }, allowImports)
	importHooked(f)
	f.svcs.Install("hk0", false)
	if _, err := f.m.Activate(ctx, "hk0"); !errors.Is(err, manager.ErrHooks) {
		t.Errorf("service installed without scripts: %v", err)
	}
}

// A service that stops at start is an activation error that says why,
// from the tunnel's log.
func TestServiceSystemFailedStart(t *testing.T) {
	f := newServiceFixture(t, nil, nil)
	f.m.Import("bad0", []byte(config(newKey(t), 51820, "", newKey(t), "10.8.0.2/32")))
	f.svcs.failUp["bad0"] = "tunnel bad0: bring up: create adapter: wintun.dll not found"
	res, err := f.m.Activate(context.Background(), "bad0")
	if !errors.Is(err, manager.ErrActivate) {
		t.Fatalf("activate = %v", err)
	}
	for _, want := range []string{"service WarrenTunnel$bad0 stopped", fmt.Sprintf("exit code %d", winsvc.ExitUpFailed), "wintun.dll not found"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if res == nil || !strings.Contains(res.Output, "[#] started service") {
		t.Errorf("output %+v", res)
	}
}

// Where tunnels are services with a kill switch (Windows), the warnings
// name the kill switch that blocks another tunnel, as the tunnel service
// computes them; the Linux System (managertest) never does.
func TestServiceSystemKillSwitchWarning(t *testing.T) {
	f := newServiceFixture(t, nil, nil)
	ctx := context.Background()
	f.m.Import("full", []byte(config(newKey(t), 51820, "", newKey(t), "0.0.0.0/0")))
	f.m.Import("split", []byte(config(newKey(t), 51821, "", newKey(t), "10.9.0.0/24")))
	if _, err := f.m.Activate(ctx, "split"); err != nil {
		t.Fatal(err)
	}
	res, err := f.m.Activate(ctx, "full")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, w := range res.Warnings {
		kinds = append(kinds, w.Kind)
		if w.Kind == "kill-switch" && (!slices.Equal(w.Tunnels, []string{"full", "split"}) || !strings.Contains(w.Message, "kill switch")) {
			t.Errorf("kill-switch warning %+v", w)
		}
	}
	if !slices.Contains(kinds, "kill-switch") {
		t.Errorf("warnings %v, want the kill switch of full blocking split", kinds)
	}
}

// The sealed store maps winsvc's errors to the manager's, and lists only
// what it can name.
func TestSealedStore(t *testing.T) {
	dir := t.TempDir()
	st := &manager.SealedStore{Files: &winsvc.Store{Dir: dir, Cipher: testCipher{}}}
	if _, err := st.Read("wg0"); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("Read of nothing: %v", err)
	}
	if err := st.Delete("wg0"); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("Delete of nothing: %v", err)
	}
	if err := st.Write("CON", []byte("x")); !errors.Is(err, manager.ErrBadName) {
		t.Errorf("Write of a device name: %v", err)
	}
	if err := st.Write("../x", []byte("x")); !errors.Is(err, manager.ErrBadName) {
		t.Errorf("Write of a path: %v", err)
	}
	if err := st.Write("wg0", []byte("one")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "junk.txt"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, ".wg1-123.tmp"), nil, 0o600)
	list, err := st.List()
	if err != nil || len(list) != 1 || list[0].Name != "wg0" || list[0].Size == 0 || list[0].ModTime.IsZero() {
		t.Errorf("List = %+v, %v", list, err)
	}
	if got, err := st.Read("wg0"); err != nil || string(got) != "one" {
		t.Errorf("Read = %q, %v", got, err)
	}
	// A file renamed to another tunnel's name does not open as it.
	os.Rename(filepath.Join(dir, "wg0"+winsvc.StoreExt), filepath.Join(dir, "wg2"+winsvc.StoreExt))
	if _, err := st.Read("wg2"); err == nil || errors.Is(err, manager.ErrNotFound) {
		t.Errorf("renamed file: %v", err)
	}
}

// The tunnels whose services run are listed even when the UAPI directory
// cannot be (wine cannot list pipes).
func TestServiceSystemInterfaces(t *testing.T) {
	f := newServiceFixture(t, nil, nil)
	f.m.Import("wg0", []byte(config(newKey(t), 51820, "", newKey(t), "10.8.0.2/32")))
	f.m.Import("wg1", []byte(config(newKey(t), 51821, "", newKey(t), "10.8.1.2/32")))
	if _, err := f.m.Activate(context.Background(), "wg0"); err != nil {
		t.Fatal(err)
	}
	f.svcs.Install("wg1", false)
	f.sys.SocketDir = filepath.Join(t.TempDir(), "missing")
	names, err := f.sys.Interfaces()
	if err != nil || !slices.Equal(names, []string{"wg0"}) {
		t.Errorf("Interfaces = %q, %v; want the running service's tunnel only", names, err)
	}
}
