package manager_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

func TestImportValidation(t *testing.T) {
	f := newFixture(t, nil)
	self, peer := newKey(t), newKey(t)
	good := config(self, 51820, "alice", peer, "10.8.0.2/32")
	tests := []struct {
		name     string
		tunnel   string
		data     string
		err      error
		line     int
		contains string
	}{
		{"bad line", "wg0", "[Interface]\nPrivateKey = " + self.priv.Base64() + "\nListenPort = lots\n", manager.ErrInvalid, 3, "lots"},
		{"unknown key", "wg0", "[Interface]\nPrivateKey = " + self.priv.Base64() + "\n[Peer]\nPublicKey = " + peer.pub.String() + "\nAlowedIPs = 10.0.0.1/32\n", manager.ErrInvalid, 5, "not a key of [Peer]"},
		{"bad key", "wg0", "[Interface]\nPrivateKey = nope\n", manager.ErrInvalid, 2, ""},
		{"no private key", "wg0", "[Interface]\nListenPort = 1\n", manager.ErrInvalid, 0, "PrivateKey"},
		{"too large", "wg0", strings.Repeat("#", manager.MaxConfigSize+1), manager.ErrInvalid, 0, "larger"},
		{"hooks", "wg0", good + "[Interface]\nPostUp = touch /tmp/x\n", manager.ErrHooks, 0, "--allow-hooks"},
		{"bad name", "../etc", good, manager.ErrBadName, 0, ""},
		{"name with dash first", "-wg", good, manager.ErrBadName, 0, ""},
		{"name too long", "abcdefghijklmnop", good, manager.ErrBadName, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.m.Import(tt.tunnel, []byte(tt.data))
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			var ce *manager.ConfigError
			if tt.line > 0 && (!errors.As(err, &ce) || ce.Line != tt.line) {
				t.Errorf("error %v: want it at line %d", err, tt.line)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not say %q", err, tt.contains)
			}
			if strings.Contains(err.Error(), self.priv.Base64()) {
				t.Errorf("error repeats the private key: %v", err)
			}
		})
	}
	if list, _ := f.store.List(); len(list) != 0 {
		t.Fatalf("failed imports stored %v", list)
	}
	res, err := f.m.Import("wg0", []byte(good+"[Peer]\nPublicKey = "+newKey(t).pub.String()+"\nAllowedIPs = 10.9.0.1/24\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "10.9.0.1/24") {
		t.Errorf("warnings %q, want the nonzero host part", res.Warnings)
	}
	if _, err := f.m.Import("wg0", []byte(good)); !errors.Is(err, manager.ErrExists) {
		t.Errorf("second import: %v, want ErrExists", err)
	}
}

func TestHooksPolicy(t *testing.T) {
	self := newKey(t)
	withHook := config(self, 1) + "PostUp = echo up\n"
	t.Run("allowed", func(t *testing.T) {
		f := newFixture(t, func(o *manager.Options) { o.AllowHooks = true })
		if _, err := f.m.Import("wg0", []byte(withHook)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("existing hooks kept", func(t *testing.T) {
		f := newFixture(t, nil)
		f.store.Write("wg0", []byte(withHook)) // put there by the administrator
		if _, err := f.m.Update(context.Background(), "wg0", []byte(strings.Replace(withHook, "ListenPort = 1", "ListenPort = 2", 1))); err != nil {
			t.Fatalf("edit keeping the hooks: %v", err)
		}
		if _, err := f.m.Update(context.Background(), "wg0", []byte(withHook+"PostDown = rm -rf /\n")); !errors.Is(err, manager.ErrHooks) {
			t.Errorf("edit adding a hook: %v, want ErrHooks", err)
		}
		if _, err := f.m.Update(context.Background(), "wg0", []byte(strings.Replace(withHook, "echo up", "echo changed", 1))); !errors.Is(err, manager.ErrHooks) {
			t.Errorf("edit changing a hook: %v, want ErrHooks", err)
		}
		if _, err := f.m.Update(context.Background(), "wg0", []byte(config(self, 1))); !errors.Is(err, manager.ErrHooks) {
			t.Errorf("edit removing a hook: %v, want ErrHooks", err)
		}
	})
}

func TestTunnelsList(t *testing.T) {
	f := newFixture(t, nil)
	self, alice, bob := newKey(t), newKey(t), newKey(t)
	if _, err := f.m.Import("down0", []byte(config(self, 1, "alice", alice, "10.8.0.2/32"))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Import("up0", []byte(config(newKey(t), 2, "bob", bob, "10.8.1.2/32"))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Activate(context.Background(), "up0"); err != nil {
		t.Fatal(err)
	}
	f.sys.AddDevice("other0", &wgtypes.Device{ListenPort: 9, Peers: []wgtypes.Peer{{PublicKey: alice.pub}}})
	f.store.Write("broken", []byte("[Interface]\nPrivateKey = x\n"))

	ts, err := f.m.Tunnels()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tn := range ts {
		names = append(names, tn.Name)
	}
	if want := []string{"broken", "down0", "other0", "up0"}; !slices.Equal(names, want) {
		t.Fatalf("tunnels %q, want %q", names, want)
	}
	broken, down, other, up := ts[0], ts[1], ts[2], ts[3]
	if broken.ConfigErr == nil || broken.ConfigErr.Line != 2 {
		t.Errorf("broken config: error %v, want one at line 2", broken.ConfigErr)
	}
	if down.Running || !down.HasConfig || down.PublicKey != self.pub || down.ListenPort != 1 || len(down.Peers) != 1 || down.Peers[0].Name != "alice" || down.Peers[0].Running {
		t.Errorf("stopped tunnel: %+v", down)
	}
	if !up.Running || up.ListenPort != 2 || len(up.Peers) != 1 || up.Peers[0].Name != "bob" || !up.Peers[0].InConfig || !up.Peers[0].Running {
		t.Errorf("running tunnel: %+v", up)
	}
	if !other.Running || other.HasConfig || other.ListenPort != 9 || other.Peers[0].Name != "" {
		t.Errorf("read-only interface: %+v", other)
	}
	// A read-only interface is shown, never changed.
	ctx := context.Background()
	if _, err := f.m.Activate(ctx, "other0"); !errors.Is(err, manager.ErrReadOnly) {
		t.Errorf("activate read-only: %v", err)
	}
	if _, err := f.m.Deactivate(ctx, "other0"); !errors.Is(err, manager.ErrReadOnly) {
		t.Errorf("deactivate read-only: %v", err)
	}
	if _, err := f.m.Update(ctx, "other0", []byte(config(self, 1))); !errors.Is(err, manager.ErrReadOnly) {
		t.Errorf("edit read-only: %v", err)
	}
	if _, err := f.m.Delete(ctx, "other0"); !errors.Is(err, manager.ErrReadOnly) {
		t.Errorf("delete read-only: %v", err)
	}
	if _, err := f.m.Config("other0"); !errors.Is(err, manager.ErrReadOnly) {
		t.Errorf("config of read-only: %v", err)
	}
	if _, err := f.m.Tunnel("nothing"); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("unknown tunnel: %v", err)
	}
	if got := f.sys.CallLog(); !slices.Equal(got, []string{"up up0"}) {
		t.Errorf("system calls %q", got)
	}
}

func TestActivateDeactivate(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, err := f.m.Import("wg0", []byte(config(newKey(t), 51820, "", newKey(t), "10.8.0.2/32"))); err != nil {
		t.Fatal(err)
	}
	res, err := f.m.Activate(ctx, "wg0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Output, "[#] warren daemon wg0") {
		t.Errorf("output %q", res.Output)
	}
	if tn, _ := f.m.Tunnel("wg0"); !tn.Running {
		t.Fatal("not running after Activate")
	}
	if res, err := f.m.Activate(ctx, "wg0"); err != nil || res.Output != "" {
		t.Errorf("activating a running tunnel: %v, %q; want nothing done", err, res.Output)
	}
	if _, err := f.m.Deactivate(ctx, "wg0"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Deactivate(ctx, "wg0"); err != nil {
		t.Errorf("deactivating a stopped tunnel: %v", err)
	}
	if got, want := f.sys.CallLog(), []string{"up wg0", "down wg0"}; !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	f.sys.UpErr = errors.New("exit status 1")
	res, err = f.m.Activate(ctx, "wg0")
	if !errors.Is(err, manager.ErrActivate) || !strings.Contains(res.Output, "warren daemon") {
		t.Errorf("failed up: %v, output %q", err, res.Output)
	}
	if _, err := f.m.Activate(ctx, "none"); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("activate unknown: %v", err)
	}
	// The manager's log has what happened, with the tool's output.
	var lines []string
	lctx, cancel := context.WithCancel(ctx)
	go func() {
		f.m.FollowLog(lctx, "", func(l ringlogLine) error {
			lines = append(lines, l.Tag+" "+l.Text)
			if strings.Contains(l.Text, "activating wg0 failed") {
				cancel()
			}
			return nil
		})
	}()
	<-lctx.Done()
	all := strings.Join(lines, "\n")
	for _, want := range []string{"UP wg0: [#] warren daemon wg0", "UP activated wg0", "DOWN deactivated wg0", "TUN imported wg0"} {
		if !strings.Contains(all, want) {
			t.Errorf("manager log lacks %q:\n%s", want, all)
		}
	}
}

func TestBusy(t *testing.T) {
	f := newFixture(t, nil)
	f.m.Import("wg0", []byte(config(newKey(t), 1)))
	f.sys.Block = make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := f.m.Activate(context.Background(), "wg0")
		done <- err
	}()
	for !slices.Contains(f.sys.CallLog(), "up wg0") {
		runtimeGosched()
	}
	if _, err := f.m.Activate(context.Background(), "wg0"); !errors.Is(err, manager.ErrBusy) {
		t.Errorf("second activation while the first runs: %v, want ErrBusy", err)
	}
	if _, err := f.m.Update(context.Background(), "wg0", []byte(config(newKey(t), 2))); !errors.Is(err, manager.ErrBusy) {
		t.Errorf("edit while activating: %v, want ErrBusy", err)
	}
	close(f.sys.Block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestDelete(t *testing.T) {
	f := newFixture(t, nil)
	f.m.Import("wg0", []byte(config(newKey(t), 1)))
	f.m.Activate(context.Background(), "wg0")
	if _, err := f.m.Delete(context.Background(), "wg0"); err != nil {
		t.Fatal(err)
	}
	if got, want := f.sys.CallLog(), []string{"up wg0", "down wg0"}; !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q (down before delete)", got, want)
	}
	if _, err := f.store.Read("wg0"); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("configuration still there: %v", err)
	}
	// A failing down keeps the configuration.
	f.m.Import("wg1", []byte(config(newKey(t), 2)))
	f.m.Activate(context.Background(), "wg1")
	f.sys.DownErr = errors.New("boom")
	if _, err := f.m.Delete(context.Background(), "wg1"); !errors.Is(err, manager.ErrActivate) {
		t.Errorf("delete with failing down: %v", err)
	}
	if _, err := f.store.Read("wg1"); err != nil {
		t.Errorf("configuration gone after a failed down: %v", err)
	}
}

func TestStateDirPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows keeps the state private by its DACL, not mode bits: winsvc's TestEnsurePrivateDir and TestCheckPrivateChain")
	}
	f := newFixture(t, nil)
	fi, err := os.Stat(f.state)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode %v, want 0700", fi.Mode().Perm())
	}
	// One others may write is refused.
	dir := filepath.Join(t.TempDir(), "open")
	os.Mkdir(dir, 0o777)
	os.Chmod(dir, 0o777)
	store := f.store
	if _, err := manager.New(manager.Options{System: f.sys, Store: store, StateDir: dir, Argon2: cheap}); err == nil {
		t.Error("a world-writable state directory was accepted")
	}
}
