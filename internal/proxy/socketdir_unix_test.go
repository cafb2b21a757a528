//go:build !windows

package proxy

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/safedir"
	"github.com/warren-vpn/warren/internal/testenv"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgcmd"
)

// TestRunRootSocket: run as root without XDG_RUNTIME_DIR, the control
// socket is /var/run/wireguard/NAME.sock, where 'warren show NAME' (and
// wireguard-tools' 'wg show NAME', when installed) finds the tunnel.
func TestRunRootSocket(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the system socket directory is Linux's")
	}
	testenv.RequireRoot(t)
	testenv.CheckGoroutines(t)
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv(wgcmd.SocketDirEnv, "")
	ref := newRefPeer(t)
	// A name no other test or tunnel uses.
	name := "wpt" + strings.ToLower(ref.priv.PublicKey().String()[:8])
	name = strings.NewReplacer("/", "x", "+", "y").Replace(name)
	path := writeConfig(t, ref, name+".conf", "")
	var stderr logBuffer
	_, _, stop := runProxy(t, Options{Config: path, SOCKS5: "127.0.0.1:0"}, &stderr)
	sock := filepath.Join(uapi.DefaultSocketDir, name+".sock")
	fi, err := os.Lstat(sock)
	if err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, %v; want a socket, mode 0600\nstderr: %s", sock, fi, err, stderr.String())
	}
	var out, errOut bytes.Buffer
	if code := wgcmd.Main("warren", []string{"show", name}, nil, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "interface: "+name) || !strings.Contains(out.String(), ref.priv.PublicKey().String()) {
		t.Errorf("warren show %s: exit %d\n%s%s", name, code, out.String(), errOut.String())
	}
	if wg, err := exec.LookPath("wg"); err == nil {
		if b, err := exec.Command(wg, "show", name, "peers").CombinedOutput(); err != nil ||
			strings.TrimSpace(string(b)) != ref.priv.PublicKey().String() {
			t.Errorf("wg show %s peers: %v\n%s", name, err, b)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
}

// TestRunUnsafeSocketDir: a runtime directory whose warren directory
// others may write to is refused with safedir's reason, and the tunnel
// runs without a control socket rather than listening there.
func TestRunUnsafeSocketDir(t *testing.T) {
	testenv.CheckGoroutines(t)
	rt := t.TempDir()
	dir := filepath.Join(rt, SocketDirName)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_RUNTIME_DIR", rt)
	ref := newRefPeer(t)
	path := writeConfig(t, ref, "unsafe.conf", "")
	var stderr logBuffer
	runProxy(t, Options{Config: path, SOCKS5: "127.0.0.1:0"}, &stderr)
	if log := stderr.String(); !strings.Contains(log, "no control socket") || !strings.Contains(log, safedir.ErrUnsafe.Error()) {
		t.Errorf("stderr does not refuse the directory: %q", log)
	}
	if _, err := os.Lstat(filepath.Join(dir, "unsafe.sock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a socket was made in a directory others may write: %v", err)
	}
}
