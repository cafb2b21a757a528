package quick

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/testenv"
)

// The tests below need root: each creates network namespaces of its own
// (unique names, deleted on cleanup) and runs warren and Debian's wg-quick
// inside them with `ip netns exec`, which also gives each namespace its own
// /etc/resolv.conf (from /etc/netns/NS/resolv.conf), so the host's is never
// touched.

// built holds the binaries the tests run, built once.
type built struct {
	once   sync.Once
	dir    string
	warren string // cmd/warren
	wggo   string // wireguard-go, the reference userspace device
	// warrenGo is a link named wireguard-go to warren, so wg-quick can
	// start warren's daemon through WG_QUICK_USERSPACE_IMPLEMENTATION.
	warrenGo string
	err      error
}

var bins built

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

func binaries(t *testing.T) *built {
	t.Helper()
	bins.once.Do(func() {
		bins.dir, bins.err = os.MkdirTemp("", "quick-test-")
		if bins.err != nil {
			return
		}
		bins.warren = filepath.Join(bins.dir, "warren")
		bins.wggo = filepath.Join(bins.dir, "wireguard-go")
		for _, b := range [][2]string{{bins.warren, "github.com/warren-vpn/warren/cmd/warren"}, {bins.wggo, "golang.zx2c4.com/wireguard"}} {
			out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput()
			if err != nil {
				bins.err = fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
				return
			}
		}
		os.Mkdir(filepath.Join(bins.dir, "w"), 0o755)
		bins.warrenGo = filepath.Join(bins.dir, "w", "wireguard-go")
		bins.err = os.Symlink(bins.warren, bins.warrenGo)
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	return &bins
}

func requireRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	for _, tool := range []string{"ip", "wg", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "%s not installed", tool)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		testenv.Missing(t, "no /dev/net/tun")
	}
}

func randHex(t *testing.T) string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sh runs a command and fails the test if it fails.
func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// out runs a command and returns its standard output only.
func out(t *testing.T, name string, args ...string) string {
	t.Helper()
	o, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(o)
}

// topo is a client namespace whose underlay leads to a server namespace
// running the reference device. 198.51.100.1 and 2001:db8:99::1 live in
// the server namespace and are reachable only through the tunnel.
type topo struct {
	client, server string // namespaces
	iface          string // the client's tunnel interface
	serverIface    string
	clientKey      string
	serverPub      string
	dir            string
}

func newTopo(t *testing.T, withServer bool) *topo {
	t.Helper()
	b := binaries(t)
	id := randHex(t)
	tp := &topo{client: "wqc" + id, server: "wqs" + id, iface: "wc" + id, serverIface: "ws" + id, dir: t.TempDir()}
	t.Cleanup(func() {
		// Processes left in a namespace keep it alive after its name is
		// deleted: stop whatever this test started there first.
		for _, ns := range []string{tp.client, tp.server} {
			o, _ := exec.Command("ip", "netns", "pids", ns).Output()
			for _, pid := range strings.Fields(string(o)) {
				exec.Command("kill", "-KILL", pid).Run()
			}
			exec.Command("ip", "netns", "del", ns).Run()
		}
		os.RemoveAll(filepath.Join("/etc/netns", tp.client))
		for _, f := range []string{statePath(tp.iface), resolvBackupPath(tp.iface), filepath.Join(stateDir, tp.iface+".lock")} {
			os.Remove(f)
		}
		// The devices exit once their namespace is gone.
		for _, n := range []string{tp.iface, tp.serverIface} {
			sock := filepath.Join("/var/run/wireguard", n+".sock")
			for i := 0; i < 100 && exists(sock); i++ {
				time.Sleep(20 * time.Millisecond)
			}
			os.Remove(sock)
		}
	})
	sh(t, "ip", "netns", "add", tp.client)
	sh(t, "ip", "netns", "add", tp.server)
	// No duplicate address detection: addresses are final at once, so
	// listings taken at different moments compare.
	for _, ns := range []string{tp.client, tp.server} {
		sh(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	}
	veth := "qv" + id
	sh(t, "ip", "link", "add", veth+"c", "netns", tp.client, "type", "veth", "peer", "name", veth+"s", "netns", tp.server)
	for _, c := range [][]string{
		{"-n", tp.client, "link", "set", "lo", "up"},
		{"-n", tp.client, "link", "set", veth + "c", "up"},
		{"-n", tp.client, "addr", "add", "172.31.0.2/24", "dev", veth + "c"},
		// Below 1500 so the automatic MTU (1380) is visibly computed.
		{"-n", tp.client, "link", "set", veth + "c", "mtu", "1460"},
		{"-n", tp.server, "link", "set", veth + "s", "mtu", "1460"},
		{"-n", tp.client, "route", "add", "default", "via", "172.31.0.1"},
		{"-n", tp.server, "link", "set", "lo", "up"},
		{"-n", tp.server, "link", "set", veth + "s", "up"},
		{"-n", tp.server, "addr", "add", "172.31.0.1/24", "dev", veth + "s"},
		{"-n", tp.server, "addr", "add", "198.51.100.1/32", "dev", "lo"},
		{"-n", tp.server, "addr", "add", "2001:db8:99::1/128", "dev", "lo"},
	} {
		sh(t, "ip", c...)
	}
	// The veth's carrier comes up asynchronously (linkwatch); listings taken
	// before and after must not differ by that.
	for _, end := range [][2]string{{tp.client, veth + "c"}, {tp.server, veth + "s"}} {
		for i := 0; ; i++ {
			if strings.Contains(sh(t, "ip", "-n", end[0], "link", "show", "dev", end[1]), "state UP") {
				break
			}
			if i == 250 {
				t.Fatalf("veth %s in %s never got a carrier", end[1], end[0])
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	tp.clientKey = strings.TrimSpace(sh(t, "wg", "genkey"))
	if !withServer {
		tp.serverPub = strings.TrimSpace(sh(t, "sh", "-c", "wg genkey | wg pubkey"))
		return tp
	}
	serverKey := strings.TrimSpace(sh(t, "wg", "genkey"))
	tp.serverPub = pubkey(t, serverKey)
	sh(t, "ip", "netns", "exec", tp.server, b.wggo, tp.serverIface)
	srvConf := filepath.Join(tp.dir, "server.conf")
	writeFile(t, srvConf, fmt.Sprintf("[Interface]\nPrivateKey = %s\nListenPort = 51820\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.99.0.2/32, fd99::2/128\n",
		serverKey, pubkey(t, tp.clientKey)))
	sh(t, "ip", "netns", "exec", tp.server, "wg", "setconf", tp.serverIface, srvConf)
	for _, c := range [][]string{
		{"-n", tp.server, "addr", "add", "10.99.0.1/24", "dev", tp.serverIface},
		{"-n", tp.server, "addr", "add", "fd99::1/64", "dev", tp.serverIface},
		{"-n", tp.server, "link", "set", tp.serverIface, "up"},
	} {
		sh(t, "ip", c...)
	}
	// The far addresses answer only what comes through the tunnel.
	nftIn := fmt.Sprintf(`table inet onlytunnel {
	chain input { type filter hook input priority 0; policy accept;
		iifname != { "lo", "%[1]s" } ip daddr 198.51.100.1 drop
		iifname != { "lo", "%[1]s" } ip6 daddr 2001:db8:99::1 drop
	}
}
`, tp.serverIface)
	cmd := exec.Command("ip", "netns", "exec", tp.server, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(nftIn)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft in server: %v\n%s", err, out)
	}
	return tp
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func pubkey(t *testing.T, priv string) string {
	t.Helper()
	cmd := exec.Command("wg", "pubkey")
	cmd.Stdin = strings.NewReader(priv + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wg pubkey: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// conf writes the client's configuration with extra [Interface] lines and
// the given AllowedIPs, and returns its path.
func (tp *topo) conf(t *testing.T, extra, allowed, endpoint string) string {
	t.Helper()
	if endpoint == "" {
		endpoint = "172.31.0.1:51820"
	}
	path := filepath.Join(tp.dir, tp.iface+".conf")
	writeFile(t, path, fmt.Sprintf(`[Interface]
PrivateKey = %s
Address = 10.99.0.2/24, fd99::2/64
%s
[Peer]
PublicKey = %s
Endpoint = %s
AllowedIPs = %s
PersistentKeepalive = 25
`, tp.clientKey, extra, tp.serverPub, endpoint, allowed))
	return path
}

// run runs a command in the client namespace with extra environment.
func (tp *topo) run(env []string, name string, args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", tp.client, name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var (
	linkLocal = regexp.MustCompile(`fe80::[0-9a-f:]+`)
	ifIndex   = regexp.MustCompile(`(?m)^[0-9]+: `)
	peerIndex = regexp.MustCompile(`@if[0-9]+| link-netns(id)? \S+`)
)

// snapshot lists the client namespace's addresses, routes of every table,
// rules and firewall, normalized: interfaces by name instead of index,
// link-local addresses (random per interface) masked, route lines sorted.
func (tp *topo) snapshot(t *testing.T) string {
	t.Helper()
	// Link-local addresses stay tentative until the link has carrier.
	addr := out(t, "ip", "-n", tp.client, "addr")
	for i := 0; i < 100 && strings.Contains(addr, " tentative"); i++ {
		time.Sleep(20 * time.Millisecond)
		addr = out(t, "ip", "-n", tp.client, "addr")
	}
	var blocks []string
	for _, blk := range ifIndex.Split(addr, -1) {
		if blk != "" {
			blocks = append(blocks, peerIndex.ReplaceAllString(blk, ""))
		}
	}
	slices.Sort(blocks)
	routes := strings.Split(linkLocal.ReplaceAllString(out(t, "ip", "-n", tp.client, "route", "show", "table", "all"), "fe80::X"), "\n")
	for i := range routes {
		routes[i] = linkLocal.ReplaceAllString(routes[i], "fe80::X")
	}
	slices.Sort(routes)
	s := strings.Join(blocks, "") + "--- routes\n" + strings.Join(routes, "\n") +
		"\n--- rules\n" + out(t, "ip", "-n", tp.client, "-4", "rule") + out(t, "ip", "-n", tp.client, "-6", "rule") +
		"--- nft\n" + out(t, "ip", "netns", "exec", tp.client, "nft", "list", "ruleset")
	return linkLocal.ReplaceAllString(s, "fe80::X")
}

// ping checks that addr answers from the client namespace, retrying while
// the handshake completes.
func (tp *topo) ping(t *testing.T, addr string) {
	t.Helper()
	var out string
	var err error
	for range 5 {
		out, err = tp.run(nil, "ping", "-c1", "-W1", addr)
		if err == nil {
			return
		}
	}
	t.Errorf("ping %s through the tunnel: %v\n%s", addr, err, out)
}

func (tp *topo) noPing(t *testing.T, addr string) {
	t.Helper()
	if out, err := tp.run(nil, "ping", "-c1", "-W1", addr); err == nil {
		t.Fatalf("%s answers without the tunnel:\n%s", addr, out)
	}
}

// checkGone checks that nothing of the client's device is left.
func (tp *topo) checkGone(t *testing.T) {
	t.Helper()
	sock := filepath.Join("/var/run/wireguard", tp.iface+".sock")
	for i := 0; i < 100 && exists(sock); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	for _, f := range []string{sock, statePath(tp.iface), resolvBackupPath(tp.iface), filepath.Join(stateDir, tp.iface+".lock")} {
		if exists(f) {
			t.Errorf("%s left behind", f)
		}
	}
	if out, _ := exec.Command("pgrep", "-f", " "+tp.iface+"$").Output(); len(out) > 0 {
		t.Errorf("device process left behind: %s", out)
	}
}

func diff(t *testing.T, what, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	dir := t.TempDir()
	gf, wf := filepath.Join(dir, "got"), filepath.Join(dir, "want")
	os.WriteFile(gf, []byte(got), 0o600)
	os.WriteFile(wf, []byte(want), 0o600)
	d, _ := exec.Command("diff", "-u", wf, gf).CombinedOutput()
	t.Errorf("%s differ (- want, + got):\n%s", what, d)
}

// implementations are the userspace devices the comparison runs with.
func implementations(t *testing.T) []struct{ name, path string } {
	b := binaries(t)
	return []struct{ name, path string }{{"wireguard-go", b.wggo}, {"warren", b.warrenGo}}
}

func failNotImplemented(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "not implemented") {
		t.Fatalf("the userspace device says it is not implemented:\n%s", out)
	}
}

// TestUpDownLikeWgQuick brings a split and a full tunnel up with Debian's
// wg-quick and with warren, on the reference device and on warren's: the
// listings must match, traffic must reach an address only the tunnel
// leads to, and down must restore the listings exactly.
func TestUpDownLikeWgQuick(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("wg-quick"); err != nil {
		testenv.Missing(t, "wg-quick (wireguard-tools) not installed")
	}
	b := binaries(t)
	const split = "10.99.0.0/24, fd99::/64, 198.51.100.0/24, 2001:db8:99::/64"
	tunnels := []struct{ name, extra, allowed string }{
		{"split", "", split},
		{"full", "", "0.0.0.0/0, ::/0"},
		{"full-table", "Table = 1234", "0.0.0.0/0, ::/0, 10.99.0.1/32"},
		{"table-off-mtu", "Table = off\nMTU = 1300", split},
	}
	for _, impl := range implementations(t) {
		for _, tun := range tunnels {
			t.Run(impl.name+"/"+tun.name, func(t *testing.T) {
				t.Parallel() // each in namespaces of its own
				tp := newTopo(t, true)
				path := tp.conf(t, tun.extra, tun.allowed, "")
				env := []string{"WG_QUICK_USERSPACE_IMPLEMENTATION=" + impl.path}
				before := tp.snapshot(t)
				tp.noPing(t, "198.51.100.1")

				if out, err := tp.run(env, "wg-quick", "up", path); err != nil {
					failNotImplemented(t, out)
					t.Fatalf("wg-quick up: %v\n%s", err, out)
				}
				ref := tp.snapshot(t)
				routed := tun.name != "table-off-mtu" && tun.name != "full-table"
				if routed {
					tp.ping(t, "198.51.100.1")
					tp.ping(t, "2001:db8:99::1")
				}
				if out, err := tp.run(env, "wg-quick", "down", path); err != nil {
					t.Fatalf("wg-quick down: %v\n%s", err, out)
				}
				tp.checkGone(t)
				diff(t, "listings after wg-quick down", tp.snapshot(t), before)

				if impl.name == "warren" {
					env = nil // warren up starts its own binary's daemon
				}
				if out, err := tp.run(env, b.warren, "up", path); err != nil {
					t.Fatalf("warren up: %v\n%s", err, out)
				}
				diff(t, "listings after up (warren vs wg-quick)", tp.snapshot(t), ref)
				if routed {
					tp.ping(t, "198.51.100.1")
					tp.ping(t, "2001:db8:99::1")
				}
				if out, err := tp.run(env, b.warren, "down", path); err != nil {
					t.Fatalf("warren down: %v\n%s", err, out)
				}
				tp.checkGone(t)
				diff(t, "listings after warren down", tp.snapshot(t), before)
			})
		}
	}
}

// TestDownAfterWgQuickUp: warren down takes down a full tunnel that
// Debian's wg-quick brought up (no record of ours: the fwmark tells).
func TestDownAfterWgQuickUp(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("wg-quick"); err != nil {
		testenv.Missing(t, "wg-quick (wireguard-tools) not installed")
	}
	b := binaries(t)
	tp := newTopo(t, true)
	path := tp.conf(t, "", "0.0.0.0/0, ::/0", "")
	before := tp.snapshot(t)
	env := []string{"WG_QUICK_USERSPACE_IMPLEMENTATION=" + b.wggo}
	if out, err := tp.run(env, "wg-quick", "up", path); err != nil {
		t.Fatalf("wg-quick up: %v\n%s", err, out)
	}
	if out, err := tp.run(nil, b.warren, "down", path); err != nil {
		t.Fatalf("warren down: %v\n%s", err, out)
	}
	tp.checkGone(t)
	diff(t, "listings after warren down", tp.snapshot(t), before)
}

// TestInterruptedUp: SIGTERM while a PostUp hook runs rolls everything back.
func TestInterruptedUp(t *testing.T) {
	requireRoot(t)
	b := binaries(t)
	tp := newTopo(t, false)
	before := tp.snapshot(t)
	started := filepath.Join(t.TempDir(), "started")
	path := tp.conf(t, "PostUp = touch "+started+"; sleep 1", "0.0.0.0/0, ::/0", "")
	cmd := exec.Command("ip", "netns", "exec", tp.client, b.warren, "up", path)
	var output strings.Builder
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 250 && !exists(started); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	// ip netns exec execs warren in its own process.
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if err == nil || !strings.Contains(output.String(), "interrupted") {
		t.Errorf("interrupted up: %v\n%s", err, output.String())
	}
	tp.checkGone(t)
	diff(t, "listings after an interrupted up", tp.snapshot(t), before)
}

// TestWgQuickName: the binary behaves as wg-quick when called by that name.
func TestWgQuickName(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: builds the binary")
	}
	b := binaries(t)
	dir := t.TempDir()
	link := filepath.Join(dir, "wg-quick")
	if err := os.Symlink(b.warren, link); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "wg3.conf")
	writeFile(t, path, "[Interface]\nAddress = 10.0.0.2/24\nPrivateKey = "+testPriv+"\n[Peer]\nPublicKey = "+testPub+"\nAllowedIPs = 10.0.0.0/24\n")
	out, err := exec.Command(link, "strip", path).CombinedOutput()
	// As Debian's wg-quick strip: the lines as they are, and echo's newline.
	want := "[Interface]\nPrivateKey = " + testPriv + "\n[Peer]\nPublicKey = " + testPub + "\nAllowedIPs = 10.0.0.0/24\n\n"
	if err != nil || string(out) != want {
		t.Errorf("wg-quick strip: %v\n%s\nwant:\n%s", err, out, want)
	}
	out, _ = exec.Command(link).CombinedOutput()
	if !strings.Contains(string(out), "Usage: wg-quick [ up | down | save | strip ]") {
		t.Errorf("wg-quick without arguments:\n%s", out)
	}
	out, _ = exec.Command(b.warren, "up", "--help").CombinedOutput()
	if !strings.Contains(string(out), "Usage: warren [ up | down | save | strip ]") {
		t.Errorf("warren up --help:\n%s", out)
	}
}

// TestIptablesFallback: without nft, up writes the firewall rules with
// iptables-restore as wg-quick does, and down removes them.
func TestIptablesFallback(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("wg-quick"); err != nil {
		testenv.Missing(t, "wg-quick (wireguard-tools) not installed")
	}
	for _, tool := range []string{"iptables-restore", "ip6tables-restore", "iptables-save", "ip6tables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "%s not installed", tool)
		}
	}
	b := binaries(t)
	// A PATH like the system's, without nft.
	sbin := t.TempDir()
	entries, err := os.ReadDir("/usr/sbin")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "nft" {
			os.Symlink(filepath.Join("/usr/sbin", e.Name()), filepath.Join(sbin, e.Name()))
		}
	}
	path := "PATH=" + sbin + ":/usr/local/bin:/usr/bin:/bin"
	tp := newTopo(t, true)
	conf := tp.conf(t, "", "0.0.0.0/0, ::/0", "")
	comments := regexp.MustCompile(`(?m)^#.*\n`)
	snapshot := func() string {
		s := tp.snapshot(t)
		for _, save := range []string{"iptables-save", "ip6tables-save"} {
			s += "--- " + save + "\n" + linkLocal.ReplaceAllString(comments.ReplaceAllString(out(t, "ip", "netns", "exec", tp.client, save), ""), "fe80::X")
		}
		return s
	}
	before := snapshot()
	env := []string{path, "WG_QUICK_USERSPACE_IMPLEMENTATION=" + b.wggo}
	if out, err := tp.run(env, "wg-quick", "up", conf); err != nil {
		t.Fatalf("wg-quick up: %v\n%s", err, out)
	}
	ref := snapshot()
	if !strings.Contains(ref, `wg-quick(8) rule for `+tp.iface) {
		t.Fatalf("wg-quick added no iptables rules:\n%s", ref)
	}
	if out, err := tp.run(env, "wg-quick", "down", conf); err != nil {
		t.Fatalf("wg-quick down: %v\n%s", err, out)
	}
	// iptables leaves its tables and chains behind, empty: compare with
	// what wg-quick down leaves.
	afterRef := snapshot()
	if out, err := tp.run(env, b.warren, "up", conf); err != nil {
		t.Fatalf("warren up: %v\n%s", err, out)
	}
	diff(t, "listings after up (warren vs wg-quick)", snapshot(), ref)
	tp.ping(t, "198.51.100.1")
	if out, err := tp.run(env, b.warren, "down", conf); err != nil {
		t.Fatalf("warren down: %v\n%s", err, out)
	}
	tp.checkGone(t)
	diff(t, "listings after warren down", snapshot(), afterRef)
	if strings.Contains(afterRef, "wg-quick(8) rule") || !strings.Contains(before, "--- iptables-save") {
		t.Errorf("wg-quick down left rules behind:\n%s", afterRef)
	}
}
