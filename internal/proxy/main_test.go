package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	xproxy "golang.org/x/net/proxy"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/testenv"
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
	testenv.CheckGoroutines(t)
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
// others serve, and so is a control socket that cannot be made; flags win
// over the file.
func TestRunPortInUse(t *testing.T) {
	testenv.CheckGoroutines(t)
	t.Setenv("XDG_RUNTIME_DIR", os.DevNull) // no directory can be made in it
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
	if !strings.Contains(log, "no control socket") {
		t.Errorf("stderr lacks the control socket that could not be made: %q", log)
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
	badLimits := filepath.Join(dir, "badlimits.conf")
	os.WriteFile(badLimits, []byte("[Interface]\nAddress = 10.0.0.1/32\n[Limits]\nMaxUDPFlows = lots\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no config", nil, exitUsage, "CONFIG is missing"},
		{"missing file", []string{filepath.Join(dir, "absent.conf")}, exitFailed, "no such file"},
		{"no address", []string{noAddr}, exitFailed, "no Address"},
		{"nothing to serve", []string{nothing}, exitFailed, "nothing to serve"},
		{"bad key", []string{"--socks5", "0", badKey}, exitFailed, "badkey.conf:3"},
		{"bad forward", []string{"--forward", "nonsense", nothing}, exitUsage, `--forward "nonsense"`},
		{"negative limit", []string{"--max-conns-per-source", "-1", nothing}, exitUsage, `--max-conns-per-source "-1"`},
		{"negative idle", []string{"--tcp-idle", "-1s", nothing}, exitUsage, `--tcp-idle "-1s"`},
		{"bad limits section", []string{badLimits}, exitFailed, "maxudpflows"},
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

// TestUsageLimits: the usage text gives the defaults DefaultLimits has.
func TestUsageLimits(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main("warren proxy", []string{"--help"}, nil, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	usage := out.String()
	d := DefaultLimits()
	for flag, v := range map[string]int{
		"--max-conns N": d.Conns, "--max-conns-per-source N": d.ConnsPerSource,
		"--max-udp-flows N": d.UDPFlows, "--max-udp-flows-per-source N": d.UDPFlowsPerSource,
		"--max-udp-assocs N": d.Associations, "--max-udp-assocs-per-source N": d.AssociationsPerSource,
	} {
		line := ""
		for l := range strings.Lines(usage) {
			if strings.Contains(l, flag+" ") {
				line = l
			}
		}
		if !strings.Contains(line, fmt.Sprintf("(default %d)", v)) {
			t.Errorf("usage line for %s is %q, want its default %d", flag, line, v)
		}
	}
	if !strings.Contains(usage, "(default 1h;") || d.TCPIdle != time.Hour {
		t.Errorf("usage and DefaultLimits disagree on --tcp-idle (%v)", d.TCPIdle)
	}
}

// TestRunLimits: Run gives every listener one Limiter, from the file's
// [Limits] section with the flags winning: with two connections per
// source, a SOCKS5 and an HTTP client hold them both and a third client
// of either is refused.
func TestRunLimits(t *testing.T) {
	testenv.CheckGoroutines(t)
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	ref := newRefPeer(t)
	path := writeConfig(t, ref, "limits.conf", "\n[Limits]\nMaxConnsPerSource = 50\n\n[Socks5]\nBindAddress = 127.0.0.1:0\n\n[http]\nBindAddress = 127.0.0.1:0\n")
	var stderr logBuffer
	_, addrs, _ := runProxy(t, Options{Config: path, Limits: []string{"MaxConnsPerSource=2"}}, &stderr)
	if len(addrs) != 2 {
		t.Fatalf("addrs %v", addrs)
	}
	dial := func(addr net.Addr) net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	socks := dial(addrs[0])
	socks.Write([]byte{5, 1, 0})
	if _, err := io.ReadFull(socks, make([]byte, 2)); err != nil {
		t.Fatalf("first SOCKS5 client: %v", err)
	}
	web := dial(addrs[1])
	io.WriteString(web, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(web), nil); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("first HTTP client: %v", err)
	}
	// A third client of either is closed at once, unanswered.
	for i, hello := range []string{"\x05\x01\x00", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"} {
		c := dial(addrs[i])
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, hello)
		if n, err := c.Read(make([]byte, 64)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("listener %d: a third client of one source read %d bytes, %v; want it closed", i, n, err)
		}
	}
}
