//go:build linux

package wgcmd

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/testenv"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// The oracle tests run Debian's wg (wireguard-tools) and this package on
// the same interface and compare their output byte for byte. wg only looks
// in /var/run/wireguard, so they need root.

const oracleWG = "/usr/bin/wg"

func requireOracle(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "oracle tests need root: wg(8) only reads sockets in %s", uapi.DefaultSocketDir)
	}
	if _, err := os.Stat(oracleWG); err != nil {
		testenv.Missing(t, "oracle tests need wireguard-tools' wg at %s: %v", oracleWG, err)
	}
}

// uniqueName returns an interface name no other test uses.
func uniqueName(t *testing.T) string {
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "wc" + hex.EncodeToString(b[:])
}

// fixedHandler serves a fixed snapshot and records applied changes.
type fixedHandler struct {
	mu      sync.Mutex
	dev     *wgtypes.Device
	applied []*wgtypes.Config
}

func (h *fixedHandler) Apply(cfg *wgtypes.Config) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.applied = append(h.applied, cfg)
	return nil
}

func (h *fixedHandler) State() *wgtypes.Device {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dev
}

// serveFixed serves dev over UAPI as interface name until the test ends.
func serveFixed(t *testing.T, name string, h uapi.Handler) {
	t.Helper()
	l, err := uapi.Listen(uapi.DefaultSocketDir, name)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		uapi.Serve(l, h, nil)
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		os.Remove(uapi.DefaultSocketDir + "/" + name + ".sock")
	})
}

type result struct {
	stdout, stderr string
	code           int
}

// runWG runs Debian's wg with exactly the given environment variables.
func runWG(t *testing.T, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(oracleWG, args...)
	cmd.Args[0] = "wg" // wg names itself by argv[0]
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run wg: %v", err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// runOurs runs the same command in process, reaching the same sockets.
func runOurs(t *testing.T, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	e := newEnv("wg", strings.NewReader(stdin), &stdout, &stderr, lookup)
	code := e.run(args)
	return result{stdout.String(), stderr.String(), code}
}

// compare runs args with both and reports differences. Outputs that hold
// "seconds ago" can differ when the second changes between the two runs,
// so a mismatch is retried a few times before it counts.
func compare(t *testing.T, vars map[string]string, args ...string) {
	t.Helper()
	var want, got result
	for range 3 {
		want = runWG(t, vars, "", args...)
		got = runOurs(t, vars, "", args...)
		if want == got {
			return
		}
	}
	t.Errorf("wg %s (env %v) differs:\n--- wg (exit %d):\n%s%s--- ours (exit %d):\n%s%s",
		strings.Join(args, " "), vars, want.code, want.stdout, want.stderr, got.code, got.stdout, got.stderr)
}

func TestOracleShow(t *testing.T) {
	requireOracle(t)
	devs := map[string]*wgtypes.Device{
		"rich":    richDevice(t, time.Now()),
		"empty":   {},
		"no-key":  {ListenPort: 1, Peers: []wgtypes.Peer{{PublicKey: mustKey(t, "tstK29LF3N9D8e34YiZkN1ZOA3/34hPmoQFwBs38d14=")}}},
		"no-peer": {PrivateKey: mustKey(t, "CM/YZGRFE/7si3qaMhDtfTcjzypgP291Wmm7kJk5V10="), PublicKey: noise.PrivateKey(mustKey(t, "CM/YZGRFE/7si3qaMhDtfTcjzypgP291Wmm7kJk5V10=")).PublicKey()},
	}
	envs := []map[string]string{
		{},
		{"WG_COLOR_MODE": "always"},
		{"WG_COLOR_MODE": "always", "WG_HIDE_KEYS": "never"},
		{"WG_HIDE_KEYS": "never"},
	}
	for label, dev := range devs {
		t.Run(label, func(t *testing.T) {
			name := uniqueName(t)
			serveFixed(t, name, &fixedHandler{dev: dev})
			for _, vars := range envs {
				for _, param := range showParams {
					args := []string{"show", name}
					if param != "" {
						args = append(args, param)
					}
					compare(t, vars, args...)
				}
			}
			compare(t, nil, "showconf", name)
		})
	}
}

// runWGIn runs Debian's wg in a private mount namespace where dir is
// mounted over its socket directory, so it sees only dir's interfaces.
func runWGIn(t *testing.T, dir string, vars map[string]string, args ...string) result {
	t.Helper()
	script := `mount --bind "$1" ` + uapi.DefaultSocketDir + ` && shift && exec -a wg ` + oracleWG + ` "$@"`
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "bash", "-c", script, "bash", dir}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run wg: %v", err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// TestOracleShowAll compares the commands that list every interface. Other
// tests' devices come and go in the shared socket directory, so both tools
// look at a private one: wg through a mount namespace, warren through
// WARREN_SOCKET_DIR.
func TestOracleShowAll(t *testing.T) {
	requireOracle(t)
	if err := os.MkdirAll(uapi.DefaultSocketDir, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if r := runWGIn(t, dir, nil, "show", "interfaces"); r.code != 0 || r.stdout != "" {
		testenv.Missing(t, "cannot give wg a private socket directory (needs unshare and CAP_SYS_ADMIN): %+v", r)
	}
	for i, dev := range []*wgtypes.Device{richDevice(t, time.Now()), {ListenPort: 7}, {}} {
		l, err := uapi.Listen(dir, fmt.Sprintf("wg%d", i))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); uapi.Serve(l, &fixedHandler{dev: dev}, nil) }()
		t.Cleanup(func() { l.Close(); <-done })
	}
	// A stale socket, left by a dead daemon, is no interface.
	stale, err := net.Listen("unix", filepath.Join(dir, "dead.sock"))
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	for _, args := range [][]string{{}, {"show"}, {"show", "all"}, {"show", "all", "dump"}, {"show", "all", "peers"},
		{"show", "all", "bogus"}, {"show", "interfaces"}, {"show", "all", "private-key"}} {
		for _, vars := range []map[string]string{{}, {"WG_COLOR_MODE": "always"}} {
			var want, got result
			for range 3 { // "seconds ago" may tick between the two runs
				want = runWGIn(t, dir, vars, args...)
				ours := map[string]string{SocketDirEnv: dir}
				for k, v := range vars {
					ours[k] = v
				}
				got = runOurs(t, ours, "", args...)
				if want == got {
					break
				}
			}
			if want != got {
				t.Errorf("wg %s differs:\n--- wg (exit %d):\n%s%s--- ours (exit %d):\n%s%s",
					strings.Join(args, " "), want.code, want.stdout, want.stderr, got.code, got.stdout, got.stderr)
			}
		}
	}
}

// TestOracleErrors compares usage and error paths that need no device.
// Help asked for with -h or --help deliberately differs from wg's (it goes
// to stdout, with exit 0, and says what the command does): see
// TestSubcommandHelp.
func TestOracleErrors(t *testing.T) {
	requireOracle(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		path := dir + "/" + name
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	key := write("key", "CM/YZGRFE/7si3qaMhDtfTcjzypgP291Wmm7kJk5V10=\n")
	short := write("short", "abc")
	trailing := write("trailing", "CM/YZGRFE/7si3qaMhDtfTcjzypgP291Wmm7kJk5V10=\nx")
	pub := "tstK29LF3N9D8e34YiZkN1ZOA3/34hPmoQFwBs38d14="
	name := uniqueName(t)
	for _, args := range [][]string{
		{"foo"}, {"--version", "x"}, {"-h"}, {"help"}, {"genkey", "x"}, {"genpsk", "x"}, {"pubkey", "x"},
		{"show", "a", "b", "c"}, {"show", "help"}, {"show", "interfaces", "x"}, {"showconf"}, {"showconf", "a", "b"},
		{"set"}, {"set", name}, {"setconf", name}, {"addconf", name, "a", "b"}, {"syncconf"},
		{"setconf", name, dir + "/missing"},
		{"set", name, "listen-port"}, {"set", name, "listen-port", ""}, {"set", name, "listen-port", "x1"},
		{"set", name, "fwmark", "0xZZ"}, {"set", name, "fwmark", "4294967296"},
		{"set", name, "private-key", dir + "/missing"}, {"set", name, "private-key", short}, {"set", name, "private-key", trailing},
		{"set", name, "remove"}, {"set", name, "endpoint", "1.2.3.4:5"}, {"set", name, "peer", pub, "listen-port", "5"},
		{"set", name, "peer", pub, "private-key", key}, {"set", name, "peer", pub, "endpoint", "1.2.3.4"},
		{"set", name, "peer", pub, "endpoint", "[::1"}, {"set", name, "peer", pub, "endpoint", ""},
		{"set", name, "peer", pub, "allowed-ips", "10.0.0.1/33"}, {"set", name, "peer", pub, "allowed-ips", "10.0.0.x"},
		{"set", name, "peer", pub, "allowed-ips", "1.2.3.4/32,"}, {"set", name, "peer", pub, "persistent-keepalive", "65536"},
		{"set", name, "peer", pub, "persistent-keepalive", "-1"}, {"set", name, "peer", pub, "preshared-key", short},
		{"set", name, "peer", pub, "bogus", "x"}, {"set", name, "peer", pub, "remove", "endpoint"},
	} {
		want := runWG(t, nil, "", args...)
		got := runOurs(t, nil, "", args...)
		if want != got {
			t.Errorf("wg %s differs:\n--- wg (exit %d):\n%s%s--- ours (exit %d):\n%s%s",
				strings.Join(args, " "), want.code, want.stdout, want.stderr, got.code, got.stdout, got.stderr)
		}
	}
	// pubkey reads stdin.
	for _, in := range []string{"", "short", "CM/YZGRFE/7si3qaMhDtfTcjzypgP291Wmm7kJk5V10=",
		"CM/YZGRFE/7si3qaMhDtfTcjzypgP291Wmm7kJk5V10=\n\x00 \n", "CM/YZGRFE/7si3qaMhDtfTcjzypgP291Wmm7kJk5V10= x",
		"CM/YZGRFE/7si3qaMhDtfTcjzypgP291Wmm7kJk5V1B=", "CM/YZGRFE/7si3qaMhDtfTcjzypgP291Wmm7kJk5V10"} {
		want := runWG(t, nil, in, "pubkey")
		got := runOurs(t, nil, in, "pubkey")
		if want != got {
			t.Errorf("wg pubkey <%q differs:\n--- wg: %+v\n--- ours: %+v", in, want, got)
		}
	}
}
