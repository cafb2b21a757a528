//go:build linux

package e2e

import (
	"bufio"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/testenv"
)

// Bounds on every wait the harness does.
const (
	cmdTimeout      = 30 * time.Second // any one ip/wg/ping command
	socketTimeout   = 10 * time.Second // daemon start until its UAPI socket answers
	stopTimeout     = 5 * time.Second  // SIGTERM until the daemon must have exited
	reachTimeout    = 20 * time.Second // first ping through a fresh tunnel (handshake included)
	uapiSocketDir   = "/var/run/wireguard"
	implsEnv        = "WARREN_E2E_IMPLS"
	warrenBinEnv    = "WARREN_E2E_WARREN_BIN" // a prebuilt warren to use instead of building one
	defaultImplsEnv = "ref,warren"
	logTailLines    = 200
)

// Impl is one WireGuard implementation under test.
type Impl struct {
	Name string // "ref" or "warren"
	// Bin is the built binary; daemonArgs follow it to run IFACE in the foreground.
	Bin        string
	daemonArgs []string
	buildErr   error
	buildOut   string
}

// Argv is the command line that runs the implementation's daemon for iface
// in the foreground.
func (im *Impl) Argv(iface string) []string {
	return append(append([]string{im.Bin}, im.daemonArgs...), "-f", iface)
}

var (
	refImpl    = &Impl{Name: "ref"}
	warrenImpl = &Impl{Name: "warren", daemonArgs: []string{"daemon"}}
	allImpls   = []*Impl{refImpl, warrenImpl}

	// envSkip, when set, is why no end-to-end test can run here.
	envSkip string
	// runPrefix starts the name of every namespace this run creates.
	runPrefix = fmt.Sprintf("wre2e-%d-", os.Getpid())
	// ifacePrefix starts the name of every WireGuard interface this run
	// creates; the UAPI socket directory is not namespaced, so interface
	// names are unique across the whole machine, not per namespace.
	ifacePrefix = "we" + strconv.FormatInt(int64(os.Getpid()), 36) + "x"
	nsSeq       atomic.Int64
	ifaceSeq    atomic.Int64
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode))
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	envSkip = checkEnvironment()
	var binDir string
	if envSkip == "" {
		var err error
		binDir, err = os.MkdirTemp("", "wre2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer os.RemoveAll(binDir)
		if err := buildImpls(binDir); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	code := m.Run()
	sweep()
	return code
}

// checkEnvironment returns why the tests cannot run here, or "".
func checkEnvironment() string {
	if testing.Short() {
		return "end-to-end tests do not run with -short"
	}
	if os.Geteuid() != 0 {
		return "end-to-end tests need root (network namespaces, TUN)"
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return "end-to-end tests need /dev/net/tun: " + err.Error()
	}
	for _, tool := range []struct{ bin, pkg string }{
		{"ip", "iproute2"},
		{"wg", "wireguard-tools"},
		{"ping", "iputils-ping"},
		{"go", "the Go toolchain"},
	} {
		if _, err := exec.LookPath(tool.bin); err != nil {
			return fmt.Sprintf("end-to-end tests need %s (install %s)", tool.bin, tool.pkg)
		}
	}
	return ""
}

// selectedImpls returns the implementations WARREN_E2E_IMPLS asks for.
func selectedImpls() ([]*Impl, error) {
	v := os.Getenv(implsEnv)
	if v == "" {
		v = defaultImplsEnv
	}
	var out []*Impl
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		var found *Impl
		for _, im := range allImpls {
			if im.Name == name {
				found = im
			}
		}
		if found == nil {
			return nil, fmt.Errorf("%s: unknown implementation %q (want ref, warren)", implsEnv, name)
		}
		out = append(out, found)
	}
	return out, nil
}

// buildImpls builds the selected implementations into dir. A failure to
// build warren is kept and reported by each test that needs it; the
// reference must build.
func buildImpls(dir string) error {
	impls, err := selectedImpls()
	if err != nil {
		return err
	}
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	for _, im := range impls {
		switch im {
		case refImpl:
			im.Bin = filepath.Join(dir, "wireguard-go")
			cmd := exec.Command("go", "build", "-o", im.Bin, "golang.zx2c4.com/wireguard")
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("building the reference wireguard-go: %v\n%s", err, out)
			}
		case warrenImpl:
			if bin := os.Getenv(warrenBinEnv); bin != "" {
				if im.Bin, err = filepath.Abs(bin); err != nil {
					return err
				}
				continue
			}
			im.Bin = filepath.Join(dir, "warren")
			cmd := exec.Command("go", "build", "-o", im.Bin, "./cmd/warren")
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				im.buildErr, im.buildOut = err, string(out)
			}
		}
	}
	return nil
}

// sweep removes whatever a crashed test may have left behind.
func sweep() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], runPrefix) {
			_ = exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
	killDaemons(func(iface string) bool { return strings.HasPrefix(iface, ifacePrefix) })
	socks, _ := filepath.Glob(filepath.Join(uapiSocketDir, ifacePrefix+"*.sock"))
	for _, s := range socks {
		os.Remove(s)
	}
}

// requireEnv skips t when the machine cannot run end-to-end tests (with
// -short, or outside CI); in CI a missing prerequisite fails it.
func requireEnv(t *testing.T) {
	t.Helper()
	if envSkip == "" {
		return
	}
	if testing.Short() {
		t.Skip(envSkip)
	}
	testenv.Missing(t, "%s", envSkip)
}

// requireImpl skips or fails t when im cannot run.
func requireImpl(t *testing.T, im *Impl) {
	t.Helper()
	requireEnv(t)
	if im.buildErr != nil {
		t.Fatalf("building %s failed: %v\n%s", im.Name, im.buildErr, im.buildOut)
	}
	if im.Bin == "" {
		t.Skipf("%s not selected by %s", im.Name, implsEnv)
	}
}

// forEachPair runs f as a subtest for every ordered pair of selected
// implementations: a is the initiating side, b the responding one. The
// reference pair, the harness's own control, runs first.
func forEachPair(t *testing.T, f func(t *testing.T, a, b *Impl)) {
	t.Helper()
	eachPair(t, false, f)
}

// forEachPairParallel is forEachPair with the pairs running in parallel,
// for scenarios that mostly wait (for timeouts, for packets that must not
// arrive) rather than compute.
func forEachPairParallel(t *testing.T, f func(t *testing.T, a, b *Impl)) {
	t.Helper()
	eachPair(t, true, f)
}

func eachPair(t *testing.T, parallel bool, f func(t *testing.T, a, b *Impl)) {
	t.Helper()
	requireEnv(t)
	impls, err := selectedImpls()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range impls {
		for _, b := range impls {
			t.Run(a.Name+"-"+b.Name, func(t *testing.T) {
				if parallel {
					t.Parallel()
				}
				requireImpl(t, a)
				requireImpl(t, b)
				f(t, a, b)
			})
		}
	}
}

// forEachImpl runs f as a subtest for every selected implementation.
func forEachImpl(t *testing.T, f func(t *testing.T, im *Impl)) {
	t.Helper()
	requireEnv(t)
	impls, err := selectedImpls()
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range impls {
		t.Run(im.Name, func(t *testing.T) {
			requireImpl(t, im)
			f(t, im)
		})
	}
}

// run runs a command (in the root namespace unless argv says otherwise)
// with a bounded time and returns its combined output.
func run(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out), nil
}

// mustRun is run that fails t on error.
func mustRun(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := run(argv...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Netns is a network namespace made by one test and deleted when it ends.
type Netns struct {
	t    *testing.T
	Name string
}

// NewNetns creates a namespace with its loopback up.
func NewNetns(t *testing.T, label string) *Netns {
	t.Helper()
	n := &Netns{t: t, Name: fmt.Sprintf("%s%d-%s", runPrefix, nsSeq.Add(1), label)}
	mustRun(t, "ip", "netns", "add", n.Name)
	t.Cleanup(func() {
		if out, err := run("ip", "netns", "del", n.Name); err != nil {
			t.Errorf("deleting namespace %s: %v %s", n.Name, err, out)
		}
	})
	n.IP("link", "set", "lo", "up")
	return n
}

// Command returns a command that runs argv inside the namespace.
func (n *Netns) Command(ctx context.Context, argv ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name}, argv...)...)
}

// Run runs argv inside the namespace, bounded, returning combined output.
func (n *Netns) Run(argv ...string) (string, error) {
	return run(append([]string{"ip", "netns", "exec", n.Name}, argv...)...)
}

// Must runs argv inside the namespace and fails the test on error.
func (n *Netns) Must(argv ...string) string {
	n.t.Helper()
	out, err := n.Run(argv...)
	if err != nil {
		n.t.Fatal(err)
	}
	return out
}

// IP runs `ip -n NS args...` and fails the test on error.
func (n *Netns) IP(args ...string) string {
	n.t.Helper()
	return mustRun(n.t, append([]string{"ip", "-n", n.Name}, args...)...)
}

// Sysctl sets a sysctl inside the namespace.
func (n *Netns) Sysctl(key, value string) {
	n.t.Helper()
	n.Must("sysctl", "-q", "-w", key+"="+value)
}

// AddAddr adds cidr to dev; IPv6 addresses skip duplicate address detection.
func (n *Netns) AddAddr(dev, cidr string) {
	n.t.Helper()
	args := []string{"addr", "add", cidr, "dev", dev}
	if strings.Contains(cidr, ":") {
		args = append([]string{"-6"}, append(args, "nodad")...)
	}
	n.IP(args...)
}

// LinkUp sets dev up, with the given MTU when mtu > 0.
func (n *Netns) LinkUp(dev string, mtu int) {
	n.t.Helper()
	args := []string{"link", "set", "dev", dev}
	if mtu > 0 {
		args = append(args, "mtu", strconv.Itoa(mtu))
	}
	n.IP(append(args, "up")...)
}

// Veth connects namespace a (device aDev) to namespace b (device bDev),
// with the given MTU when mtu > 0, and sets both ends up.
func Veth(t *testing.T, a *Netns, aDev string, b *Netns, bDev string, mtu int) {
	t.Helper()
	mustRun(t, "ip", "-n", a.Name, "link", "add", aDev, "type", "veth", "peer", "name", bDev, "netns", b.Name)
	a.LinkUp(aDev, mtu)
	b.LinkUp(bDev, mtu)
}

// Ping pings addr from inside the namespace until one echo comes back or
// the deadline passes; extra are further ping options (e.g. -s 8900 -M do).
func (n *Netns) Ping(addr string, extra ...string) {
	n.t.Helper()
	if err := n.pingUntil(reachTimeout, addr, extra...); err != nil {
		n.t.Fatalf("ping %s from %s: %v", addr, n.Name, err)
	}
}

// pingUntil retries one ping at a time until it succeeds or d passes.
func (n *Netns) pingUntil(d time.Duration, addr string, extra ...string) error {
	deadline := time.Now().Add(d)
	args := append([]string{"ping", "-n", "-c", "1", "-W", "1"}, extra...)
	args = append(args, addr)
	for {
		out, err := n.Run(args...)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no reply within %v: %v\n%s", d, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// PingCount sends count echo requests at a short interval and fails the
// test unless every one is answered. A round with a loss is tried once
// more: on a loaded machine even the reference drops a packet now and
// then, while what is broken stays broken.
func (n *Netns) PingCount(addr string, count int, extra ...string) {
	n.t.Helper()
	args := append([]string{"ping", "-n", "-c", strconv.Itoa(count), "-i", "0.05", "-W", "2"}, extra...)
	want := fmt.Sprintf(" %d received", count)
	var out string
	for round := range 2 {
		var err error
		out, err = n.Run(append(args, addr)...)
		if err == nil && strings.Contains(out, want) {
			return
		}
		if round == 0 {
			n.t.Logf("ping %s from %s lost replies, trying once more: %v", addr, n.Name, err)
		}
	}
	n.t.Fatalf("ping %s from %s: replies lost in two rounds (want%q):\n%s", addr, n.Name, want, out)
}

// Key is a Curve25519 key as WireGuard uses it.
type Key [32]byte

func (k Key) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// NewKeypair returns a fresh private key and its public key.
func NewKeypair(t *testing.T) (priv, pub Key) {
	t.Helper()
	sk, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	copy(priv[:], sk.Bytes())
	copy(pub[:], sk.PublicKey().Bytes())
	return priv, pub
}

// Daemon is one implementation's daemon running an interface in a namespace.
type Daemon struct {
	t       *testing.T
	Impl    *Impl
	NS      *Netns
	Iface   string
	Private Key
	Public  Key
	Port    int
	LogPath string

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	stopped bool
}

// Socket is the daemon's UAPI socket path.
func (d *Daemon) Socket() string { return filepath.Join(uapiSocketDir, d.Iface+".sock") }

// StartDaemon runs im's daemon for a fresh interface inside ns and waits
// until its UAPI socket answers. The daemon is stopped, its socket removed
// and (if the test failed) its log printed when the test ends. The test is
// skipped if the daemon says it is not implemented.
func StartDaemon(t *testing.T, im *Impl, ns *Netns) *Daemon {
	t.Helper()
	seq := ifaceSeq.Add(1)
	iface := ifacePrefix + strconv.FormatInt(seq, 36)
	os.Remove(filepath.Join(uapiSocketDir, iface+".sock"))
	d := SpawnDaemon(t, im, ns, iface)
	d.Port = 40000 + int(seq%20000)
	d.waitSocket()
	return d
}

// SpawnDaemon starts im's daemon for iface inside ns without waiting for
// anything; like StartDaemon it is stopped and its log shown (on failure)
// when the test ends. Tests of start-up behaviour use it directly.
func SpawnDaemon(t *testing.T, im *Impl, ns *Netns, iface string) *Daemon {
	t.Helper()
	d := &Daemon{
		t:     t,
		Impl:  im,
		NS:    ns,
		Iface: iface,
		Port:  40000,
		done:  make(chan struct{}),
	}
	d.Private, d.Public = NewKeypair(t)
	d.LogPath = filepath.Join(t.TempDir(), d.Iface+"-"+im.Name+".log")
	logf, err := os.Create(d.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command("ip", append([]string{"netns", "exec", ns.Name}, im.Argv(d.Iface)...)...)
	d.cmd.Env = append(os.Environ(), "LOG_LEVEL=verbose", "WG_PROCESS_FOREGROUND=1")
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s daemon: %v", im.Name, err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		logf.Close()
		close(d.done)
	}()
	t.Cleanup(func() {
		if !d.stopped {
			start := time.Now()
			d.kill()
			if took := time.Since(start); took > time.Second {
				t.Logf("%s daemon (%s) took %v to exit at cleanup", im.Name, d.Iface, took.Round(time.Millisecond))
			}
		}
		os.Remove(d.Socket())
		if t.Failed() {
			t.Logf("%s daemon log (%s, last %d lines):\n%s", im.Name, d.Iface, logTailLines, d.logTail())
		}
	})
	return d
}

// waitSocket waits until the UAPI socket accepts a connection.
func (d *Daemon) waitSocket() {
	d.t.Helper()
	deadline := time.Now().Add(socketTimeout)
	for {
		select {
		case <-d.done:
			log, _ := os.ReadFile(d.LogPath)
			d.t.Fatalf("%s daemon exited before serving UAPI (%v):\n%s", d.Impl.Name, d.waitErr, log)
		default:
		}
		if c, err := net.DialTimeout("unix", d.Socket(), time.Second); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s daemon: no UAPI socket %s after %v", d.Impl.Name, d.Socket(), socketTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the daemon: SIGTERM, then SIGKILL if it lingers.
func (d *Daemon) kill() {
	d.stopped = true
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return
	case <-time.After(stopTimeout):
	}
	_ = d.cmd.Process.Kill()
	select {
	case <-d.done:
	case <-time.After(stopTimeout):
		d.t.Errorf("%s daemon (pid %d) survived SIGKILL", d.Impl.Name, d.cmd.Process.Pid)
	}
}

// Stop sends sig and returns how long the daemon took to exit and its
// exit error (nil for status 0); it fails the test if the daemon does not
// exit within stopTimeout.
func (d *Daemon) Stop(sig os.Signal) (time.Duration, error) {
	d.t.Helper()
	d.stopped = true
	start := time.Now()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatalf("%v: %v", sig, err)
	}
	return d.WaitExit(start)
}

// WaitExit waits for the daemon to exit by itself and returns how long
// that took since start and its exit error (nil for status 0); it fails
// the test if the daemon does not exit within stopTimeout.
func (d *Daemon) WaitExit(start time.Time) (time.Duration, error) {
	d.t.Helper()
	select {
	case <-d.done:
		return time.Since(start), d.waitErr
	case <-time.After(stopTimeout):
		d.kill()
		d.t.Fatalf("%s daemon did not exit within %v", d.Impl.Name, stopTimeout)
		return 0, nil
	}
}

// logTail returns the last lines of the daemon's log.
func (d *Daemon) logTail() string {
	b, err := os.ReadFile(d.LogPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}

// PeerConf is one [Peer] section.
type PeerConf struct {
	PublicKey  Key
	Endpoint   string // host:port, IPv6 hosts in brackets; "" for none
	AllowedIPs []string
	Keepalive  int
}

// PeerOf returns a PeerConf for d reached at endpoint (may be "").
func (d *Daemon) PeerOf(endpoint string, allowed ...string) PeerConf {
	return PeerConf{PublicKey: d.Public, Endpoint: endpoint, AllowedIPs: allowed}
}

// Endpoint is d's UDP endpoint at the given outer address.
func (d *Daemon) Endpoint(addr string) string {
	return net.JoinHostPort(addr, strconv.Itoa(d.Port))
}

// Conf renders the daemon's configuration with peers, as wg setconf reads it.
func (d *Daemon) Conf(peers ...PeerConf) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[Interface]\nPrivateKey = %s\nListenPort = %d\n", d.Private, d.Port)
	for _, p := range peers {
		fmt.Fprintf(&b, "\n[Peer]\nPublicKey = %s\n", p.PublicKey)
		if len(p.AllowedIPs) > 0 {
			fmt.Fprintf(&b, "AllowedIPs = %s\n", strings.Join(p.AllowedIPs, ", "))
		}
		if p.Endpoint != "" {
			fmt.Fprintf(&b, "Endpoint = %s\n", p.Endpoint)
		}
		if p.Keepalive > 0 {
			fmt.Fprintf(&b, "PersistentKeepalive = %d\n", p.Keepalive)
		}
	}
	return b.String()
}

// SetConf applies the configuration with Debian's `wg setconf`.
func (d *Daemon) SetConf(peers ...PeerConf) {
	d.t.Helper()
	path := filepath.Join(d.t.TempDir(), d.Iface+".conf")
	if err := os.WriteFile(path, []byte(d.Conf(peers...)), 0o600); err != nil {
		d.t.Fatal(err)
	}
	d.NS.Must("wg", "setconf", d.Iface, path)
}

// Up gives the interface addresses and sets it up (with mtu when > 0).
func (d *Daemon) Up(mtu int, cidrs ...string) {
	d.t.Helper()
	for _, c := range cidrs {
		d.NS.AddAddr(d.Iface, c)
	}
	d.NS.LinkUp(d.Iface, mtu)
}

// Wg runs Debian's `wg args...` inside the daemon's namespace.
func (d *Daemon) Wg(args ...string) string {
	d.t.Helper()
	return d.NS.Must(append([]string{"wg"}, args...)...)
}

// DumpPeer is one peer line of `wg show IFACE dump`.
type DumpPeer struct {
	Public        string
	Endpoint      string
	AllowedIPs    string
	LastHandshake int64
	RxBytes       int64
	TxBytes       int64
}

// Peers parses `wg show IFACE dump` into its peer lines, by public key.
func (d *Daemon) Peers() map[string]DumpPeer {
	d.t.Helper()
	out := d.Wg("show", d.Iface, "dump")
	peers := map[string]DumpPeer{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for first := true; sc.Scan(); first = false {
		if first {
			continue // the interface line
		}
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 8 {
			d.t.Fatalf("wg show dump: bad peer line %q", sc.Text())
		}
		p := DumpPeer{Public: f[0], Endpoint: f[2], AllowedIPs: f[3]}
		var errs [3]error
		p.LastHandshake, errs[0] = strconv.ParseInt(f[4], 10, 64)
		p.RxBytes, errs[1] = strconv.ParseInt(f[5], 10, 64)
		p.TxBytes, errs[2] = strconv.ParseInt(f[6], 10, 64)
		if err := errors.Join(errs[:]...); err != nil {
			d.t.Fatalf("wg show dump: %q: %v", sc.Text(), err)
		}
		peers[p.Public] = p
	}
	return peers
}

// Peer returns the dump line of the peer with public key pub.
func (d *Daemon) Peer(pub Key) DumpPeer {
	d.t.Helper()
	p, ok := d.Peers()[pub.String()]
	if !ok {
		d.t.Fatalf("%s: no peer %s in wg show dump", d.Iface, pub)
	}
	return p
}

// WaitEndpoint waits until d's peer pub has an endpoint whose host is
// host, and returns that endpoint.
func (d *Daemon) WaitEndpoint(pub Key, host string, timeout time.Duration) string {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ep := d.Peer(pub).Endpoint
		if h, _, err := net.SplitHostPort(ep); err == nil && h == host {
			return ep
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s: peer endpoint is %q, want host %s within %v", d.Iface, ep, host, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeFile writes content to path or fails the test.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// NoPing sends two echo requests from inside the namespace, waits a
// second for answers, and fails the test if any is answered.
func (n *Netns) NoPing(addr string, extra ...string) {
	n.t.Helper()
	args := append([]string{"ping", "-n", "-c", "2", "-i", "0.3", "-W", "1"}, extra...)
	out, err := n.Run(append(args, addr)...)
	if err == nil || !strings.Contains(out, " 0 received") {
		n.t.Fatalf("ping %s from %s was answered, want no answer:\n%s", addr, n.Name, out)
	}
}
