package quick

import (
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/testenv"
)

const fullTunnel = "0.0.0.0/0, ::/0"

func hostResolvConf(t *testing.T) [32]byte {
	data, _ := os.ReadFile("/etc/resolv.conf")
	return sha256.Sum256(data)
}

// netnsResolvConf gives the client namespace its own resolv.conf, which
// `ip netns exec` bind-mounts over /etc/resolv.conf.
func (tp *topo) netnsResolvConf(t *testing.T, text string) {
	t.Helper()
	dir := filepath.Join("/etc/netns", tp.client)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (tp *topo) resolvConf(t *testing.T) string {
	t.Helper()
	out, err := tp.run(nil, "cat", "/etc/resolv.conf")
	if err != nil {
		t.Fatalf("read the namespace's resolv.conf: %v\n%s", err, out)
	}
	return out
}

func requireNoResolvconf(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("resolvconf"); err == nil {
		t.Skip("skipping: resolvconf is installed; this test covers the fallback to /etc/resolv.conf")
	}
	if _, err := exec.LookPath("resolvectl"); err == nil {
		if _, err := os.Stat(resolvedDir); err == nil {
			t.Skip("skipping: systemd-resolved runs; this test covers the fallback to /etc/resolv.conf")
		}
	}
}

// TestDNSFile: without resolvconf or systemd-resolved, up rewrites
// /etc/resolv.conf and down puts the original back, byte for byte.
func TestDNSFile(t *testing.T) {
	requireRoot(t)
	requireNoResolvconf(t)
	b := binaries(t)
	hostBefore := hostResolvConf(t)
	tp := newTopo(t, true)
	orig := "# the namespace's own\nnameserver 192.0.2.53\noptions edns0\n"
	tp.netnsResolvConf(t, orig)
	path := tp.conf(t, "DNS = 10.99.0.1, fd99::1, corp.example, lab.example", fullTunnel, "")
	if out, err := tp.run(nil, b.warren, "up", path); err != nil {
		t.Fatalf("warren up: %v\n%s", err, out)
	}
	got := tp.resolvConf(t)
	for _, want := range []string{"nameserver 10.99.0.1\n", "nameserver fd99::1\n", "search corp.example lab.example\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("resolv.conf while up lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "192.0.2.53") {
		t.Errorf("resolv.conf while up still names the old server:\n%s", got)
	}
	if out, err := tp.run(nil, b.warren, "down", path); err != nil {
		t.Fatalf("warren down: %v\n%s", err, out)
	}
	if got := tp.resolvConf(t); got != orig {
		t.Errorf("resolv.conf after down = %q, want %q", got, orig)
	}
	tp.checkGone(t)
	if hostResolvConf(t) != hostBefore {
		t.Errorf("the host's /etc/resolv.conf changed")
	}
}

// TestDNSFileTwoTunnels: two tunnels share the file. Up A, up B, down A
// leaves B's servers (not A's, and not the original, which would send B's
// queries outside its tunnel); down B brings the original back byte for
// byte. The backup lives in /var/lib/warren, not on tmpfs.
func TestDNSFileTwoTunnels(t *testing.T) {
	requireRoot(t)
	requireNoResolvconf(t)
	b := binaries(t)
	tp := newTopo(t, false)
	orig := "# the namespace's own\nnameserver 192.0.2.53\noptions edns0"
	tp.netnsResolvConf(t, orig)
	a := tp.conf(t, "DNS = 10.99.0.1, a.example", "10.99.0.0/24", "")
	second := "wd" + tp.iface[2:]
	t.Cleanup(func() {
		tp.run(nil, b.warren, "down", filepath.Join(tp.dir, second+".conf"))
		os.Remove(statePath(second))
	})
	bPath := filepath.Join(tp.dir, second+".conf")
	writeFile(t, bPath, "[Interface]\nPrivateKey = "+tp.clientKey+"\nListenPort = 51999\nAddress = 10.98.0.2/24\nDNS = 10.98.0.1, b.example\n\n"+
		"[Peer]\nPublicKey = "+tp.serverPub+"\nEndpoint = 172.31.0.1:51821\nAllowedIPs = 10.98.0.0/24\n")
	step := func(args ...string) {
		t.Helper()
		if out, err := tp.run(nil, b.warren, args...); err != nil {
			t.Fatalf("warren %v: %v\n%s", args, err, out)
		}
	}
	step("up", a)
	step("up", bPath)
	got := tp.resolvConf(t)
	for _, want := range []string{"nameserver 10.99.0.1\n", "nameserver 10.98.0.1\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("with both up, resolv.conf lacks %q:\n%s", want, got)
		}
	}
	step("down", a)
	got = tp.resolvConf(t)
	if !strings.Contains(got, "nameserver 10.98.0.1\n") || strings.Contains(got, "10.99.0.1") || strings.Contains(got, "192.0.2.53") {
		t.Errorf("after the first down, resolv.conf should list only the second tunnel's server:\n%s", got)
	}
	ents, _ := os.ReadDir(dnsStateDir)
	if len(ents) == 0 {
		t.Errorf("no persistent backup in %s while a tunnel is up", dnsStateDir)
	}
	step("down", bPath)
	if got := tp.resolvConf(t); got != orig {
		t.Errorf("resolv.conf after both downs = %q, want %q", got, orig)
	}
}

// TestDNSResolvconf: with resolvconf installed, up hands it the servers as
// wg-quick does (resolvconf -a IFACE -m 0 -x) and down removes them.
func TestDNSResolvconf(t *testing.T) {
	requireRoot(t)
	b := binaries(t)
	tp := newTopo(t, false)
	tp.netnsResolvConf(t, "nameserver 192.0.2.53\n")
	fake := t.TempDir()
	logPath := filepath.Join(fake, "log")
	script := "#!/bin/sh\necho \"$*\" >> " + logPath + "\ncat >> " + logPath + "\n"
	if err := os.WriteFile(filepath.Join(fake, "resolvconf"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + fake + ":" + os.Getenv("PATH")}
	path := tp.conf(t, "DNS = 10.99.0.1, corp.example", "10.99.0.0/24", "")
	if out, err := tp.run(env, b.warren, "up", path); err != nil {
		t.Fatalf("warren up: %v\n%s", err, out)
	}
	if out, err := tp.run(env, b.warren, "down", path); err != nil {
		t.Fatalf("warren down: %v\n%s", err, out)
	}
	log, _ := os.ReadFile(logPath)
	prefix := resolvconfIfacePrefix()
	want := "-a " + prefix + tp.iface + " -m 0 -x\nnameserver 10.99.0.1\nsearch corp.example\n-d " + prefix + tp.iface + " -f\n"
	if string(log) != want {
		t.Errorf("resolvconf calls:\n%s\nwant:\n%s", log, want)
	}
	if got := tp.resolvConf(t); got != "nameserver 192.0.2.53\n" {
		t.Errorf("resolv.conf touched although resolvconf is there: %q", got)
	}
	tp.checkGone(t)
}

// upMustFail runs warren up, expecting failure with a message containing
// want, and checks that the namespace is as before.
func (tp *topo) upMustFail(t *testing.T, env []string, path, want, before string) {
	t.Helper()
	b := binaries(t)
	out, err := tp.run(env, b.warren, "up", path)
	if err == nil {
		t.Fatalf("warren up succeeded, want failure:\n%s", out)
	}
	if !strings.Contains(out, want) {
		t.Errorf("warren up output lacks %q:\n%s", want, out)
	}
	tp.checkGone(t)
	diff(t, "listings after a failed up", tp.snapshot(t), before)
	if t.Failed() {
		t.Logf("warren up said:\n%s", out)
	}
}

func TestUpFailures(t *testing.T) {
	requireRoot(t)
	t.Run("unresolvable hostname", func(t *testing.T) {
		tp := newTopo(t, false)
		tp.netnsResolvConf(t, "nameserver 127.0.0.1\n")
		before := tp.snapshot(t)
		path := tp.conf(t, "DNS = 10.99.0.1", fullTunnel, "no-such-host.invalid:51820")
		tp.upMustFail(t, []string{"WG_ENDPOINT_RESOLUTION_RETRIES=0"}, path, "no-such-host.invalid", before)
		if got := tp.resolvConf(t); got != "nameserver 127.0.0.1\n" {
			t.Errorf("resolv.conf = %q after failed up", got)
		}
	})
	t.Run("failing hook", func(t *testing.T) {
		tp := newTopo(t, false)
		tp.netnsResolvConf(t, "nameserver 192.0.2.53\n")
		before := tp.snapshot(t)
		marker := filepath.Join(t.TempDir(), "ran")
		path := tp.conf(t, "DNS = 10.99.0.1\nPreUp = touch "+marker+"\nPostUp = echo failing on %i >&2; false", fullTunnel, "")
		tp.upMustFail(t, nil, path, "failing on "+tp.iface, before)
		if !exists(marker) {
			t.Errorf("PreUp hook did not run")
		}
		if got := tp.resolvConf(t); got != "nameserver 192.0.2.53\n" {
			t.Errorf("resolv.conf = %q after failed up", got)
		}
	})
	t.Run("failing PreUp hook", func(t *testing.T) {
		tp := newTopo(t, false)
		before := tp.snapshot(t)
		path := tp.conf(t, "PreUp = exit 3", fullTunnel, "")
		tp.upMustFail(t, nil, path, "exit 3", before)
	})
	t.Run("bad line", func(t *testing.T) {
		tp := newTopo(t, false)
		before := tp.snapshot(t)
		path := tp.conf(t, "MTU = big", fullTunnel, "")
		tp.upMustFail(t, nil, path, tp.iface+".conf:4: ", before)
	})
	t.Run("interface exists", func(t *testing.T) {
		tp := newTopo(t, false)
		sh(t, "ip", "-n", tp.client, "tuntap", "add", "dev", tp.iface, "mode", "tun")
		before := tp.snapshot(t)
		path := tp.conf(t, "", fullTunnel, "")
		tp.upMustFail(t, nil, path, "warren up: interface "+tp.iface+" already exists\n", before)
	})
	t.Run("daemon fails to start", func(t *testing.T) {
		tp := newTopo(t, false)
		before := tp.snapshot(t)
		fake := filepath.Join(t.TempDir(), "broken-daemon")
		os.WriteFile(fake, []byte("#!/bin/sh\necho 'cannot create TUN' >&2\nexit 1\n"), 0o755)
		path := tp.conf(t, "", fullTunnel, "")
		tp.upMustFail(t, []string{"WG_QUICK_USERSPACE_IMPLEMENTATION=" + fake}, path, "cannot create TUN", before)
	})
	t.Run("daemon dies during up", func(t *testing.T) {
		b := binaries(t)
		tp := newTopo(t, false)
		before := tp.snapshot(t)
		// Starts the reference device, then kills it before up configures it.
		fake := filepath.Join(t.TempDir(), "dying-daemon")
		os.WriteFile(fake, []byte("#!/bin/sh\n"+b.wggo+" -f \"$1\" & pid=$!\nsleep 0.3\nkill -9 $pid\n"), 0o755)
		path := tp.conf(t, "", fullTunnel, "")
		// Killed before or while up talks to it: either way up fails.
		tp.upMustFail(t, []string{"WG_QUICK_USERSPACE_IMPLEMENTATION=" + fake}, path, tp.iface, before)
	})
}

// TestKilledDaemon: down after the device was killed leaves nothing behind
// (rules, firewall, DNS, socket, record), although the interface is gone.
func TestKilledDaemon(t *testing.T) {
	requireRoot(t)
	requireNoResolvconf(t)
	b := binaries(t)
	for _, impl := range implementations(t) {
		t.Run(impl.name, func(t *testing.T) {
			tp := newTopo(t, true)
			orig := "nameserver 192.0.2.53\n"
			tp.netnsResolvConf(t, orig)
			before := tp.snapshot(t)
			path := tp.conf(t, "DNS = 10.99.0.1", fullTunnel, "")
			env := []string{"WG_QUICK_USERSPACE_IMPLEMENTATION=" + impl.path}
			if out, err := tp.run(env, b.warren, "up", path); err != nil {
				failNotImplemented(t, out)
				t.Fatalf("warren up: %v\n%s", err, out)
			}
			st, err := loadState(tp.iface)
			if err != nil || st == nil || st.PID == 0 {
				t.Fatalf("no record of the device's process: %+v, %v", st, err)
			}
			if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
				t.Fatalf("kill the device: %v", err)
			}
			for i := 0; i < 100; i++ {
				if _, err := tp.run(nil, "ip", "link", "show", tp.iface); err != nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if out, err := tp.run(nil, b.warren, "down", path); err != nil || !strings.Contains(out, "is gone") {
				t.Fatalf("warren down after the device died: %v\n%s", err, out)
			}
			tp.checkGone(t)
			diff(t, "listings after down", tp.snapshot(t), before)
			if got := tp.resolvConf(t); got != orig {
				t.Errorf("resolv.conf after down = %q, want %q", got, orig)
			}
			// A second down finds nothing to take down.
			if out, err := tp.run(nil, b.warren, "down", path); err == nil || !strings.Contains(out, "is not a WireGuard interface") {
				t.Errorf("second down: %v\n%s", err, out)
			}
		})
	}
}

// TestSave: save and SaveConfig write the running configuration back.
func TestSave(t *testing.T) {
	requireRoot(t)
	b := binaries(t)
	tp := newTopo(t, true)
	path := tp.conf(t, "MTU = 1380\nSaveConfig = true\nPostUp = echo up %i", "10.99.0.0/24", "")
	// The server's peer gets a name, which save must keep.
	if data, err := os.ReadFile(path); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(path, []byte(strings.Replace(string(data), "[Peer]\n", "# Name = the server\n[Peer]\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := tp.run(nil, b.warren, "up", path); err != nil {
		t.Fatalf("warren up: %v\n%s", err, out)
	}
	newPeer := strings.TrimSpace(sh(t, "sh", "-c", "wg genkey | wg pubkey"))
	if out, err := tp.run(nil, "wg", "set", tp.iface, "peer", newPeer, "allowed-ips", "10.99.0.77/32"); err != nil {
		t.Fatalf("wg set: %v\n%s", err, out)
	}
	sh(t, "ip", "-n", tp.client, "addr", "add", "10.98.0.2/24", "dev", tp.iface)
	// A symlink planted where a naive save puts its temporary file must
	// not be written through (root would overwrite its target with keys).
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("untouched\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path+".tmp"); err != nil {
		t.Fatal(err)
	}
	if out, err := tp.run(nil, b.warren, "save", path); err != nil {
		t.Fatalf("warren save: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(victim); string(got) != "untouched\n" {
		t.Errorf("save wrote through the planted %s.tmp symlink: the victim now holds %q", path, got)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp-*")); len(left) != 0 {
		t.Errorf("save left temporary files: %v", left)
	}
	check := func(when string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := conf.Parse(path, data, conf.Options{Quick: true})
		if err != nil {
			t.Fatalf("%s: saved file does not parse: %v\n%s", when, err, data)
		}
		in := f.Interface
		if !slices.ContainsFunc(f.Peers, func(p conf.Peer) bool { return p.Name == "the server" }) {
			t.Errorf("%s: the server peer's name was lost", when)
		}
		if len(f.Peers) != 2 || !slices.ContainsFunc(f.Peers, func(p conf.Peer) bool { return p.PublicKey.String() == newPeer }) {
			t.Errorf("%s: saved peers %+v, want the original and %s", when, f.Peers, newPeer)
		}
		if got := len(in.Addresses); got != 3 {
			t.Errorf("%s: saved addresses %v, want 3", when, in.Addresses)
		}
		if in.MTU != 1380 || !in.SaveConfig || len(in.PostUp) != 1 || in.PostUp[0] != "echo up %i" || in.PrivateKey == nil {
			t.Errorf("%s: saved [Interface] %+v", when, in)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: saved file mode %v, want 0600", when, fi.Mode().Perm())
		}
	}
	check("save")
	newPeer2 := strings.TrimSpace(sh(t, "sh", "-c", "wg genkey | wg pubkey"))
	tp.run(nil, "wg", "set", tp.iface, "peer", newPeer, "remove", "peer", newPeer2, "allowed-ips", "10.99.0.78/32")
	newPeer = newPeer2
	if out, err := tp.run(nil, b.warren, "down", path); err != nil {
		t.Fatalf("warren down: %v\n%s", err, out)
	}
	check("down with SaveConfig")
	tp.checkGone(t)
}

// TestReresolve: an endpoint named by a host name is looked up again while
// the handshake keeps failing, so a server whose address changed (dynamic
// DNS) is found; down stops the watcher.
func TestReresolve(t *testing.T) {
	requireRoot(t)
	b := binaries(t)
	tp := newTopo(t, true)
	hosts := filepath.Join("/etc/netns", tp.client, "hosts")
	os.MkdirAll(filepath.Dir(hosts), 0o755)
	if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost\n172.31.0.9 vpn.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := tp.conf(t, "", "10.99.0.0/24, 198.51.100.0/24", "vpn.test:51820")
	env := []string{"WARREN_RERESOLVE_INTERVAL=1"}
	if out, err := tp.run(env, b.warren, "up", path); err != nil {
		t.Fatalf("warren up: %v\n%s", err, out)
	}
	endpoint := func() string {
		out, _ := tp.run(nil, "wg", "show", tp.iface, "endpoints")
		return strings.TrimSpace(out)
	}
	if got := endpoint(); !strings.HasSuffix(got, "172.31.0.9:51820") {
		t.Fatalf("endpoint at up = %q, want 172.31.0.9:51820", got)
	}
	// The name moves, in place: the file is bind-mounted into the namespace.
	if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost\n172.31.0.1 vpn.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !strings.HasSuffix(endpoint(), "172.31.0.1:51820") {
		if time.Now().After(deadline) {
			t.Fatalf("endpoint still %q, want it re-resolved to 172.31.0.1:51820", endpoint())
		}
		time.Sleep(200 * time.Millisecond)
	}
	tp.ping(t, "198.51.100.1")
	if out, err := tp.run(nil, b.warren, "down", path); err != nil {
		t.Fatalf("warren down: %v\n%s", err, out)
	}
	tp.checkGone(t)
	if out, _ := exec.Command("pgrep", "-f", ReresolveArg+" "+tp.iface+" ").Output(); len(out) > 0 {
		t.Errorf("endpoint watcher left behind: %s", out)
	}
}

// TestUnsafeStateDir: up refuses a state directory that others could write
// or that is a symlink to somewhere else, before it creates anything. The
// directory is faked inside a private mount namespace (a tmpfs over
// /run/warren), so the host's own state is not touched.
func TestUnsafeStateDir(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		testenv.Missing(t, "unshare (util-linux) not installed")
	}
	b := binaries(t)
	tp := newTopo(t, false)
	path := tp.conf(t, "", "10.99.0.0/24", "")
	if err := os.MkdirAll("/run/warren", 0o700); err != nil {
		t.Fatal(err)
	}
	attacker := t.TempDir()
	for name, setup := range map[string]string{
		"world-writable": "mkdir -m 777 /run/warren/quick",
		"symlink":        "ln -s " + attacker + " /run/warren/quick",
		"parent open":    "chmod 777 /run/warren",
	} {
		t.Run(name, func(t *testing.T) {
			script := "mount -t tmpfs -o mode=0700 tmpfs /run/warren && " + setup + " && exec \"$0\" up \"$1\""
			out, err := tp.run(nil, "unshare", "--mount", "--propagation", "private", "sh", "-c", script, b.warren, path)
			if err == nil || !strings.Contains(out, "state directory") || !strings.Contains(out, "unsafe directory") {
				t.Errorf("up with an unsafe state directory: %v\n%s", err, out)
			}
			if _, err := tp.run(nil, "ip", "link", "show", tp.iface); err == nil {
				t.Errorf("up created %s anyway", tp.iface)
			}
			if ents, _ := os.ReadDir(attacker); len(ents) != 0 {
				t.Errorf("up wrote into the symlink's target: %v", ents)
			}
		})
	}
}

// TestUpRefusesHooksFromWritableConfig: PostUp from a file whose directory
// others may write is never run as root, and up creates nothing.
func TestUpRefusesHooksFromWritableConfig(t *testing.T) {
	requireRoot(t)
	b := binaries(t)
	tp := newTopo(t, false)
	marker := filepath.Join(t.TempDir(), "ran")
	path := tp.conf(t, "PostUp = touch "+marker, "10.99.0.0/24", "")
	if err := os.Chmod(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	out, err := tp.run(nil, b.warren, "up", path)
	if err == nil || !strings.Contains(out, "hook commands refused") || !strings.Contains(out, "can be written by group or others") {
		t.Errorf("up with hooks in a world-writable directory: %v\n%s", err, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the PostUp command ran")
	}
	if _, err := tp.run(nil, "ip", "link", "show", tp.iface); err == nil {
		t.Errorf("up created %s anyway", tp.iface)
	}
	// The same file, made private, goes up and runs its hook.
	os.Chmod(filepath.Dir(path), 0o700)
	if out, err := tp.run(nil, b.warren, "up", path); err != nil {
		t.Fatalf("up of the private file: %v\n%s", err, out)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("the PostUp command did not run from a private file")
	}
	// Loosened while up: down still takes it down, skipping its hooks.
	os.Chmod(filepath.Dir(path), 0o777)
	out, err = tp.run(nil, b.warren, "down", path)
	if err != nil || !strings.Contains(out, "Not running PreDown and PostDown") {
		t.Errorf("down of a loosened file: %v\n%s", err, out)
	}
	tp.checkGone(t)
}
