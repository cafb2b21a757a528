//go:build linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/testenv"
)

// TestBackground: without -f the daemon detaches as wireguard-go does: the
// command exits 0 once the interface and its UAPI socket exist, and the
// detached daemon serves the tunnel until the interface is deleted.
func TestBackground(t *testing.T) {
	forEachPair(t, func(t *testing.T, a, b *Impl) {
		nsA, nsB := NewNetns(t, "a"), NewNetns(t, "b")
		Veth(t, nsA, "va", nsB, "vb", 0)
		nsA.AddAddr("va", outerA4+"/24")
		nsB.AddAddr("vb", outerB4+"/24")
		d := startDetached(t, nsA, append(append([]string{a.Bin}, a.daemonArgs...), nextIface()), a)
		peer := StartDaemon(t, b, nsB)
		d.SetConf(peer.PeerOf(peer.Endpoint(outerB4), innerB4+"/32"))
		peer.SetConf(d.PeerOf("", innerA4+"/32"))
		d.Up(0, innerA4+"/24")
		peer.Up(0, innerB4+"/24")
		nsA.Ping(innerB4)
		nsB.PingCount(innerA4, 3)
		nsA.IP("link", "del", "dev", d.Iface)
		waitGone(t, d.Socket())
	})
}

// TestWgQuick: Debian's wg-quick brings a tunnel up and down with the
// implementation as its userspace fallback (WG_QUICK_USERSPACE_IMPLEMENTATION,
// warren through a link named wireguard-go, as distributions install it).
func TestWgQuick(t *testing.T) {
	forEachPair(t, func(t *testing.T, a, b *Impl) {
		requireTool(t, "wg-quick", "wireguard-tools")
		nsA, nsB := NewNetns(t, "a"), NewNetns(t, "b")
		Veth(t, nsA, "va", nsB, "vb", 0)
		nsA.AddAddr("va", outerA4+"/24")
		nsB.AddAddr("vb", outerB4+"/24")
		peer := StartDaemon(t, b, nsB)

		impl := filepath.Join(t.TempDir(), "wireguard-go")
		if err := os.Symlink(a.Bin, impl); err != nil {
			t.Fatal(err)
		}
		iface := nextIface()
		t.Cleanup(func() { killByIface(t, iface) })
		priv, pub := NewKeypair(t)
		conf := filepath.Join(t.TempDir(), iface+".conf")
		writeFile(t, conf, "[Interface]\nPrivateKey = "+priv.String()+"\nListenPort = 41000\n"+
			"Address = "+innerA4+"/24, "+innerA6+"/64\nMTU = 1380\n\n"+
			"[Peer]\nPublicKey = "+peer.Public.String()+"\nEndpoint = "+peer.Endpoint(outerB4)+"\n"+
			"AllowedIPs = "+innerB4+"/32, "+innerB6+"/128\n")
		peer.SetConf(PeerConf{PublicKey: pub, AllowedIPs: []string{innerA4 + "/32", innerA6 + "/128"}})
		peer.Up(0, innerB4+"/24", innerB6+"/64")

		quick := func(verb string) { t.Helper(); wgQuick(t, nsA, impl, verb, conf) }
		quick("up")
		if out := nsA.IP("link", "show", "dev", iface); !strings.Contains(out, " mtu 1380 ") {
			t.Errorf("wg-quick's MTU not applied:\n%s", out)
		}
		nsA.Ping(innerB4)
		nsA.PingCount(innerB6, 3)
		nsB.PingCount(innerA4, 3)
		quick("down")
		waitGone(t, filepath.Join(uapiSocketDir, iface+".sock"))
		if _, err := nsA.Run("ip", "link", "show", "dev", iface); err == nil {
			t.Errorf("interface %s still there after wg-quick down", iface)
		}
	})
}

// TestWgQuickFullTunnel: wg-quick with AllowedIPs = 0.0.0.0/0 sends all
// traffic through the tunnel, relying on the daemon putting wg-quick's
// fwmark on its own UDP packets: the initiator's only route to the peer's
// endpoint is the default route, so unmarked packets would loop into the
// tunnel and no handshake could complete.
func TestWgQuickFullTunnel(t *testing.T) {
	forEachPair(t, func(t *testing.T, a, b *Impl) {
		requireTool(t, "wg-quick", "wireguard-tools")
		const behind = "10.78.99.1" // reachable only through the tunnel
		nsA, nsB := NewNetns(t, "a"), NewNetns(t, "b")
		Veth(t, nsA, "va", nsB, "vb", 0)
		nsA.AddAddr("va", outerA4+"/32")
		nsA.IP("route", "add", "default", "dev", "va")
		nsB.AddAddr("vb", outerB4+"/24")
		nsB.AddAddr("lo", behind+"/32")
		peer := StartDaemon(t, b, nsB)

		impl := filepath.Join(t.TempDir(), "wireguard-go")
		if err := os.Symlink(a.Bin, impl); err != nil {
			t.Fatal(err)
		}
		iface := nextIface()
		t.Cleanup(func() { killByIface(t, iface) })
		priv, pub := NewKeypair(t)
		conf := filepath.Join(t.TempDir(), iface+".conf")
		writeFile(t, conf, "[Interface]\nPrivateKey = "+priv.String()+"\nAddress = "+innerA4+"/24\n\n"+
			"[Peer]\nPublicKey = "+peer.Public.String()+"\nEndpoint = "+peer.Endpoint(outerB4)+"\n"+
			"AllowedIPs = 0.0.0.0/0\n")
		peer.SetConf(PeerConf{PublicKey: pub, AllowedIPs: []string{innerA4 + "/32"}})
		peer.Up(0, innerB4+"/24")

		wgQuick(t, nsA, impl, "up", conf)
		if got := nsA.Must("wg", "show", iface, "fwmark"); got != "0xca6c\n" {
			t.Errorf("fwmark is %q, want wg-quick's 0xca6c", got)
		}
		nsA.Ping(behind)
		nsA.PingCount(innerB4, 3)
		nsB.PingCount(innerA4, 3)
		wgQuick(t, nsA, impl, "down", conf)
		waitGone(t, filepath.Join(uapiSocketDir, iface+".sock"))
	})
}

// wgQuick runs Debian's `wg-quick verb conf` in ns with impl as the
// userspace implementation, failing the test on error.
func wgQuick(t *testing.T, ns *Netns, impl, verb, conf string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := ns.Command(ctx, "wg-quick", verb, conf)
	cmd.Env = append(os.Environ(), "WG_QUICK_USERSPACE_IMPLEMENTATION="+impl, "LOG_LEVEL=verbose")
	out, err := runDetaching(cmd)
	t.Logf("wg-quick %s:\n%s", verb, out)
	if err != nil {
		t.Fatalf("wg-quick %s: %v", verb, err)
	}
}

// nextIface returns a fresh interface name for this run.
func nextIface() string {
	return ifacePrefix + strconv.FormatInt(ifaceSeq.Add(1), 36)
}

// requireTool skips t unless bin is installed.
func requireTool(t *testing.T, bin, pkg string) {
	t.Helper()
	testenv.RequireTool(t, bin, pkg)
}

// startDetached runs argv (a daemon command without -f) in ns, expects it
// to detach and exit 0 with the UAPI socket in place, and returns a Daemon
// for the interface (whose process the test does not own: it is stopped by
// deleting the interface, or killed by pid at cleanup if it lingers).
func startDetached(t *testing.T, ns *Netns, argv []string, im *Impl) *Daemon {
	t.Helper()
	iface := argv[len(argv)-1]
	d := &Daemon{t: t, Impl: im, NS: ns, Iface: iface, stopped: true}
	d.Private, d.Public = NewKeypair(t)
	d.Port = 41001
	t.Cleanup(func() { killByIface(t, iface); os.Remove(d.Socket()) })
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := ns.Command(ctx, argv...)
	cmd.Env = append(os.Environ(), "LOG_LEVEL=verbose")
	start := time.Now()
	out, err := runDetaching(cmd)
	t.Logf("%s (detaching) returned %v after %v:\n%s", strings.Join(argv, " "), err, time.Since(start), out)
	if err != nil {
		t.Fatalf("%s daemon without -f: %v", im.Name, err)
	}
	if _, err := os.Stat(d.Socket()); err != nil {
		t.Fatalf("no UAPI socket once the detaching command returned: %v", err)
	}
	return d
}

// runDetaching runs cmd whose children may outlive it holding its output:
// output goes to a file, so waiting does not wait for those children.
func runDetaching(cmd *exec.Cmd) (string, error) {
	f, err := os.CreateTemp("", "wre2e-out-")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	return string(out), err
}

// waitGone waits until path no longer exists.
func waitGone(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(stopTimeout)
	for {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still exists after %v", path, stopTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killByIface kills (by pid) any daemon still running for iface, which is
// unique to this run, so only processes this test started can match.
func killByIface(t *testing.T, iface string) {
	t.Helper()
	for _, pid := range killDaemons(func(name string) bool { return name == iface }) {
		t.Logf("killed leftover daemon %d for %s", pid, iface)
	}
}

// killDaemons SIGKILLs every wireguard-go or warren process whose last
// argument (its interface) is matched by match, and returns their pids.
func killDaemons(match func(iface string) bool) []int {
	var killed []int
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
		if len(args) < 2 || !match(string(args[len(args)-1])) {
			continue
		}
		if prog := filepath.Base(string(args[0])); prog != "wireguard-go" && prog != "warren" {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed = append(killed, pid)
		}
	}
	return killed
}
