package browser

import (
	"bufio"
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netnstest"
	"github.com/warren-vpn/warren/internal/quick"
	"github.com/warren-vpn/warren/internal/testenv"
)

// Addresses of the test's networks. Outer: hub–ref on 172.30.0.0/24,
// hub–phone on 172.30.1.0/24. Inner (the tunnel): 10.66.0.0/24 and
// fd66::/64; the hub is .1, the reference .2, clients get the next free.
const (
	hubRefAddr   = "172.30.0.1"
	refAddr      = "172.30.0.2"
	hubPhoneAddr = "172.30.1.1"
	phoneAddr    = "172.30.1.2"
	hubInner     = "10.66.0.1"
	refInner     = "10.66.0.2"
	tunnelPort   = 51820

	// screenshotTunnel names the tunnel when screenshots are taken.
	screenshotTunnel = "office"
)

// env is what one browser test runs against: the binaries, the
// namespaces and the interface names (unique on the machine: the UAPI
// socket directory and warren up's state are not per namespace).
type env struct {
	t                 *testing.T
	warren, wggo      string
	hub, ref, phone   string
	tunnel, refIface  string // the manager's tunnel, the reference's interface
	phoneIface        string // the client's interface in phone
	dir               string // scratch space
	hubKey, refKey    keyPair
	mu                sync.Mutex
	procs             []*exec.Cmd // killed at the end
	stateDir, confDir string
	uapiDir           string // the manager's /var/run/wireguard
}

type keyPair struct{ priv, pub string }

func newKeyPair(t *testing.T) keyPair {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString
	return keyPair{enc(k.Bytes()), enc(k.PublicKey().Bytes())}
}

// requirements skips (or, in CI, fails) t unless everything the test
// needs is here.
func requirements(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test under -short")
	}
	testenv.RequireRoot(t)
	testenv.RequireTUN(t)
	testenv.RequireTool(t, "ip", "iproute2")
	testenv.RequireTool(t, "wg", "wireguard-tools")
	testenv.RequireTool(t, "iperf3", "iperf3")
	testenv.RequireTool(t, "zbarimg", "zbar-tools")
	testenv.RequireTool(t, "ping", "iputils-ping")
	testenv.RequireTool(t, "chromium", "chromium")
}

// newEnv builds the binaries, makes the namespaces and their links, and
// starts the reference peer; everything goes when t ends.
func newEnv(t *testing.T) *env {
	requirements(t)
	e := &env{t: t, dir: t.TempDir()}
	bin := filepath.Join(e.dir, "bin")
	e.warren, e.wggo = filepath.Join(bin, "warren"), filepath.Join(bin, "wireguard-go")
	for out, pkg := range map[string]string{e.warren: "github.com/warren-vpn/warren/cmd/warren", e.wggo: "golang.zx2c4.com/wireguard"} {
		if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	e.hub, e.ref, e.phone = netnstest.New(t, "wbh"), netnstest.New(t, "wbr"), netnstest.New(t, "wbp")
	id := e.hub[len(e.hub)-6:]
	e.tunnel, e.refIface, e.phoneIface = "wbt"+id, "wbr"+id, "wbp"+id
	if screenshots() != "" {
		// The README's pictures show a tunnel named as a person would
		// name it. Names are the machine's (warren up's state, the
		// device's log): the name must be free.
		e.tunnel = screenshotTunnel
		for _, f := range []string{"/run/warren/quick/" + e.tunnel + ".json", quick.DaemonLogPath(e.tunnel), "/var/run/wireguard/" + e.tunnel + ".sock"} {
			if _, err := os.Stat(f); err == nil {
				t.Fatalf("%s exists: a tunnel named %s runs on this machine, and the screenshots need the name", f, e.tunnel)
			}
		}
	}
	e.stateDir, e.confDir, e.uapiDir = filepath.Join(e.dir, "state"), filepath.Join(e.dir, "conf"), filepath.Join(e.dir, "uapi")
	if err := os.MkdirAll(e.uapiDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("/var/run/wireguard", 0o755); err != nil {
		t.Fatal(err)
	}
	// Registered after the namespaces' own cleanups, so it runs first:
	// what still runs in a namespace keeps it (and its devices) alive.
	t.Cleanup(e.cleanup)

	veth := "wbv" + id
	netnstest.IP(t, "link", "add", veth+"h", "netns", e.hub, "type", "veth", "peer", "name", veth+"r", "netns", e.ref)
	netnstest.IP(t, "link", "add", veth+"H", "netns", e.hub, "type", "veth", "peer", "name", veth+"p", "netns", e.phone)
	for _, a := range [][3]string{
		{e.hub, veth + "h", hubRefAddr}, {e.ref, veth + "r", refAddr},
		{e.hub, veth + "H", hubPhoneAddr}, {e.phone, veth + "p", phoneAddr},
	} {
		netnstest.IP(t, "-n", a[0], "addr", "add", a[2]+"/24", "dev", a[1])
		netnstest.IP(t, "-n", a[0], "link", "set", a[1], "up")
	}

	e.hubKey, e.refKey = newKeyPair(t), newKeyPair(t)
	e.startReference()
	return e
}

// cleanup stops every process the test started and everything in the
// namespaces, and removes what warren up and the daemons leave outside
// them.
func (e *env) cleanup() {
	e.mu.Lock()
	procs := e.procs
	e.mu.Unlock()
	for _, p := range procs {
		if p.Process != nil {
			p.Process.Kill()
		}
	}
	for _, ns := range []string{e.hub, e.ref, e.phone} {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		for _, pid := range strings.Fields(string(out)) {
			// This process is listed too when a thread of it
			// entered the namespace.
			if pid != fmt.Sprint(os.Getpid()) {
				exec.Command("kill", "-KILL", pid).Run()
			}
		}
	}
	for _, iface := range []string{e.tunnel, e.phoneIface} {
		for _, f := range []string{"/run/warren/quick/" + iface + ".json", "/run/warren/quick/" + iface + ".lock", quick.DaemonLogPath(iface)} {
			os.Remove(f)
		}
	}
	for _, iface := range []string{e.tunnel, e.refIface, e.phoneIface} {
		os.Remove("/var/run/wireguard/" + iface + ".sock")
	}
}

// start starts cmd and has it killed when the test ends.
func (e *env) start(cmd *exec.Cmd) {
	e.t.Helper()
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	e.mu.Lock()
	e.procs = append(e.procs, cmd)
	e.mu.Unlock()
}

// in runs a command in namespace ns and fails the test with its output
// if it fails.
func (e *env) in(ns string, args ...string) string {
	e.t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("in %s: %s: %v\n%s", ns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startReference runs wireguard-go in ref as the tunnel's first peer,
// configured with wg (Debian's wireguard-tools) as a user would.
func (e *env) startReference() {
	t := e.t
	var log bytes.Buffer
	cmd := exec.Command("ip", "netns", "exec", e.ref, e.wggo, "-f", e.refIface)
	cmd.Stdout, cmd.Stderr = &log, &log
	e.start(cmd)
	sock := "/var/run/wireguard/" + e.refIface + ".sock"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("wireguard-go made no UAPI socket in 10 s:\n%s", log.String())
		}
	}
	conf := filepath.Join(e.dir, "ref.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[Interface]\nPrivateKey = %s\nListenPort = %d\n\n[Peer]\nPublicKey = %s\nEndpoint = %s:%d\nAllowedIPs = %s/32\n",
		e.refKey.priv, tunnelPort, e.hubKey.pub, hubRefAddr, tunnelPort, hubInner)), 0o600)
	e.in(e.ref, "wg", "setconf", e.refIface, conf)
	netnstest.IP(t, "-n", e.ref, "addr", "add", refInner+"/24", "dev", e.refIface)
	netnstest.IP(t, "-n", e.ref, "link", "set", e.refIface, "up")
}

// tunnelConfig is the manager's tunnel: a server on tunnelPort whose
// first peer is the reference.
func (e *env) tunnelConfig() string {
	return fmt.Sprintf(`[Interface]
PrivateKey = %s
Address = %s/24, fd66::1/64
ListenPort = %d

# Name = the reference
[Peer]
PublicKey = %s
Endpoint = %s:%d
AllowedIPs = %s/32
PersistentKeepalive = 1
`, e.hubKey.priv, hubInner, tunnelPort, e.refKey.pub, refAddr, tunnelPort, refInner)
}

// manager is one run of `warren manager` in hub.
type manager struct {
	cmd      *exec.Cmd
	base     string // http://127.0.0.1:PORT
	port     string
	linkFile string // where the setup link is, on a first start
	out      *lockedBuffer
	exited   chan error
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	servingRE = regexp.MustCompile(`serving (http://127\.0\.0\.1:(\d+)) `)
	setupRE   = regexp.MustCompile(`setup link is in (\S+) `)
)

// startManager runs the manager in hub on 127.0.0.1:port (0: any) and
// waits until it says where it serves.
func (e *env) startManager(port string) *manager {
	t := e.t
	t.Helper()
	m := &manager{out: new(lockedBuffer), exited: make(chan error, 1)}
	// The UAPI socket directory is the machine's, not the namespace's:
	// the manager would list (and sample every second) the interfaces
	// of every other test running. It gets a directory of its own,
	// bound over /var/run/wireguard in the mount namespace ip netns exec
	// makes, so it sees the devices it starts, across restarts, and no
	// others.
	m.cmd = exec.Command("ip", "netns", "exec", e.hub, "sh", "-c", `mount --bind "$0" /var/run/wireguard && exec "$@"`, e.uapiDir,
		e.warren, "manager", "--listen", "127.0.0.1:"+port, "--state", e.stateDir, "--config-dir", e.confDir)
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	m.cmd.Stderr = m.out
	e.start(m.cmd)
	go func() { m.exited <- m.cmd.Wait() }()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			m.out.Write([]byte(sc.Text() + "\n"))
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	timeout := time.After(20 * time.Second)
	for m.base == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the manager ended before serving:\n%s", m.out)
			}
			if s := servingRE.FindStringSubmatch(l); s != nil {
				m.base, m.port = s[1], s[2]
			}
		case <-timeout:
			t.Fatalf("the manager did not say where it serves in 20 s:\n%s", m.out)
		}
	}
	// The setup line follows the serving line at once, on a first start.
	if port == "0" {
		select {
		case l := <-lines:
			if s := setupRE.FindStringSubmatch(l); s != nil {
				m.linkFile = s[1]
			}
		case <-time.After(5 * time.Second):
		}
		if m.linkFile == "" {
			t.Fatalf("the manager did not say where its setup link is:\n%s", m.out)
		}
	}
	return m
}

// stop sends SIGTERM and waits for a clean exit.
func (m *manager) stop(t *testing.T) {
	t.Helper()
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-m.exited:
		if err != nil {
			t.Fatalf("manager exit: %v\n%s", err, m.out)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the manager did not stop on SIGTERM in 15 s:\n%s", m.out)
	}
}

// iperf runs iperf3 through the tunnel, hub to the reference and back
// (--bidir), for secs seconds at a bounded rate; the returned channel
// gives its output when it ends.
func (e *env) iperf(secs int) <-chan string {
	t := e.t
	srv := exec.Command("ip", "netns", "exec", e.ref, "iperf3", "-s", "-1", "-B", refInner, "--forceflush")
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	e.start(srv)
	listening := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening") {
				listening <- true
			}
		}
		close(listening)
		srv.Wait()
	}()
	select {
	case ok := <-listening:
		if !ok {
			t.Fatal("iperf3 -s ended before listening")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("iperf3 -s is not listening after 10 s")
	}
	done := make(chan string, 1)
	cli := exec.Command("ip", "netns", "exec", e.hub, "iperf3", "-c", refInner, "-t", fmt.Sprint(secs), "--bidir", "-b", "20M")
	go func() {
		b, err := cli.CombinedOutput()
		if err != nil {
			b = fmt.Appendf(b, "\niperf3: %v", err)
		}
		done <- string(b)
	}()
	return done
}

// listenIn opens a TCP listener inside namespace ns.
func listenIn(t *testing.T, ns, addr string) net.Listener {
	var l net.Listener
	var err error
	netnstest.Run(t, ns, func() { l, err = net.Listen("tcp", addr) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
