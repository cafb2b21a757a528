package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xproxy "golang.org/x/net/proxy"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/uapi"
)

// runProxy starts Run on a config file and returns the listeners'
// addresses once it is ready; the returned stop ends it and returns
// Run's error.
func runProxy(t *testing.T, o Options, stderr *logBuffer) (name string, addrs []net.Addr, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	readyc := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, o, &bytes.Buffer{}, writerFunc(stderr.Logf), func(n string, a []net.Addr) {
			name, addrs = n, a
			close(readyc)
		})
	}()
	select {
	case <-readyc:
	case err := <-errc:
		cancel()
		t.Fatalf("Run: %v\nstderr: %s", err, stderr.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("Run not ready")
	}
	var once bool
	var err error
	stop = func() error {
		if !once {
			once = true
			cancel()
			err = <-errc
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return name, addrs, stop
}

// writerFunc adapts a printf-style function to io.Writer.
type writerFunc func(format string, args ...any)

func (w writerFunc) Write(p []byte) (int, error) {
	w("%s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// writeConfig writes warren's side of env's tunnel with extra sections.
func writeConfig(t *testing.T, ref *refPeer, name, extra string) string {
	t.Helper()
	priv, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ref.addPeer(t, priv.PublicKey(), netip.AddrPort{})
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(ref.warrenConfig(priv, "")+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunWireproxySections: a config with wireproxy's sections serves
// SOCKS5 (with auth) and HTTP, exposes the UAPI socket under
// $XDG_RUNTIME_DIR/warren, and stops cleanly.
func TestRunWireproxySections(t *testing.T) {
	checkGoroutines(t)
	rt := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", rt)
	ref := newRefPeer(t)
	ref.serveHTTP(t)
	ref.serveDNS(t)
	path := writeConfig(t, ref, "wgproxy.conf", `
[Socks5]
BindAddress = 127.0.0.1:0
Username = carol
Password = pw

[http]
BindAddress = 127.0.0.1:0
`)
	var stderr logBuffer
	name, addrs, stop := runProxy(t, Options{Config: path}, &stderr)
	if name != "wgproxy" || len(addrs) != 2 {
		t.Fatalf("name %q, addrs %v", name, addrs)
	}
	if body := get(t, httpVia(t, addrs[0].String(), &xproxy.Auth{User: "carol", Password: "pw"}), "http://"+refName+"/hello"); !strings.HasPrefix(body, "hello") {
		t.Errorf("SOCKS5: %q", body)
	}
	if body := get(t, httpProxyClient(t, addrs[1].String(), "", ""), "http://10.77.0.1/hello"); !strings.HasPrefix(body, "hello") {
		t.Errorf("HTTP: %q", body)
	}

	dir := filepath.Join(rt, SocketDirName)
	for path, mode := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "wgproxy.sock"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
	c, err := uapi.Dial(dir, "wgproxy")
	if err != nil {
		t.Fatal(err)
	}
	dev, err := uapi.Get(c)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(dev.Peers) != 1 || dev.Peers[0].PublicKey != ref.priv.PublicKey() || dev.Peers[0].LastHandshakeTime.IsZero() {
		t.Errorf("UAPI get: %+v", dev)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "wgproxy.sock")); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

// TestRunPortInUse: a listener that cannot start is reported and the
// others serve; flags win over the file.
func TestRunPortInUse(t *testing.T) {
	checkGoroutines(t)
	t.Setenv("XDG_RUNTIME_DIR", "")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ref := newRefPeer(t)
	ref.serveHTTP(t)
	path := writeConfig(t, ref, "busy.conf", "\n[Socks5]\nBindAddress = 127.0.0.1:1\n")
	var stderr logBuffer
	_, addrs, _ := runProxy(t, Options{Config: path, SOCKS5: busy.Addr().String(), HTTP: "127.0.0.1:0"}, &stderr)
	if len(addrs) != 1 {
		t.Fatalf("addrs %v", addrs)
	}
	if body := get(t, httpProxyClient(t, addrs[0].String(), "", ""), "http://10.77.0.1/hello"); !strings.HasPrefix(body, "hello") {
		t.Errorf("HTTP: %q", body)
	}
	log := stderr.String()
	if !strings.Contains(log, "SOCKS5 proxy") || !strings.Contains(log, "address already in use") {
		t.Errorf("stderr lacks the port in use: %q", log)
	}
	if !strings.Contains(log, "XDG_RUNTIME_DIR") {
		t.Errorf("stderr lacks the missing runtime directory: %q", log)
	}
}

func TestMainErrors(t *testing.T) {
	dir := t.TempDir()
	noAddr := filepath.Join(dir, "noaddr.conf")
	os.WriteFile(noAddr, []byte("[Interface]\nPrivateKey = uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1Q=\n[Socks5]\nBindAddress=127.0.0.1:0\n"), 0o600)
	nothing := filepath.Join(dir, "nothing.conf")
	os.WriteFile(nothing, []byte("[Interface]\nAddress = 10.0.0.1/32\n"), 0o600)
	badKey := filepath.Join(dir, "badkey.conf")
	os.WriteFile(badKey, []byte("[Interface]\nAddress = 10.0.0.1/32\nPrivateKey = nope\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no config", nil, exitUsage, "Usage"},
		{"missing file", []string{filepath.Join(dir, "absent.conf")}, exitFailed, "no such file"},
		{"no address", []string{noAddr}, exitFailed, "no Address"},
		{"nothing to serve", []string{nothing}, exitFailed, "nothing to serve"},
		{"bad key", []string{"--socks5", "0", badKey}, exitFailed, "badkey.conf:3"},
		{"bad forward", []string{"--forward", "nonsense", nothing}, exitFailed, "forward"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := Main("warren proxy", tc.args, nil, &out, &errOut); code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.msg) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tc.msg)
			}
		})
	}
}
