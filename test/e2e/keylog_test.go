//go:build linux

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/testenv"
)

// keyLogEnv is the daemon's environment variable for the key log.
const keyLogEnv = "WARREN_KEYLOG"

// TestKeyLogDecryptsCapture: with WARREN_KEYLOG set, warren writes the
// keys Wireshark's WireGuard dissector needs, so that tshark, given the
// file, shows the ICMP packets inside a captured tunnel in both
// directions; without it, it shows none. The log of either end is enough,
// whether that end initiated or responded, against warren or the
// reference. The daemon warns at start and the file is 0600.
func TestKeyLogDecryptsCapture(t *testing.T) {
	requireEnv(t)
	testenv.RequireTool(t, "tshark", "tshark")
	for _, pair := range [][2]*Impl{{warrenImpl, warrenImpl}, {warrenImpl, refImpl}, {refImpl, warrenImpl}} {
		a, b := pair[0], pair[1]
		t.Run(a.Name+"-"+b.Name, func(t *testing.T) {
			requireImpl(t, a)
			requireImpl(t, b)
			testKeyLog(t, a, b)
		})
	}
}

func testKeyLog(t *testing.T, a, b *Impl) {
	dir := t.TempDir()
	nsA, nsB := NewNetns(t, "a"), NewNetns(t, "b")
	Veth(t, nsA, "va", nsB, "vb", 0)
	nsA.AddAddr("va", outerA4+"/24")
	nsB.AddAddr("vb", outerB4+"/24")
	start := func(im *Impl, ns *Netns, name string) (*Daemon, string) {
		log := ""
		if im == warrenImpl {
			log = filepath.Join(dir, name+".keys")
		}
		t.Setenv(keyLogEnv, log) // the daemon inherits it
		return StartDaemon(t, im, ns), log
	}
	A, logA := start(a, nsA, "a")
	B, logB := start(b, nsB, "b")
	t.Setenv(keyLogEnv, "")
	for _, d := range []struct {
		d   *Daemon
		log string
	}{{A, logA}, {B, logB}} {
		if d.log == "" {
			continue
		}
		if st, err := os.Lstat(d.log); err != nil || st.Mode() != 0o600 {
			t.Fatalf("key log %s: %v (%v), want a -rw------- file", d.log, st.Mode(), err)
		}
		waitLog(t, d.d, "WARNING: "+keyLogEnv)
	}

	capture := filepath.Join(dir, "tunnel.pcapng")
	stop := startCapture(t, nsA, "va", capture)
	A.SetConf(B.PeerOf(B.Endpoint(outerB4), innerB4+"/32"))
	B.SetConf(A.PeerOf("", innerA4+"/32"))
	A.Up(0, innerA4+"/24")
	B.Up(0, innerB4+"/24")
	nsA.Ping(innerB4)
	nsA.PingCount(innerB4, 3)
	nsB.PingCount(innerA4, 3)
	stop()

	decode := []string{"-d", fmt.Sprintf("udp.port==%d,wg", A.Port), "-d", fmt.Sprintf("udp.port==%d,wg", B.Port)}
	if n := len(tsharkLines(t, capture, append(decode, "-Y", "wg.type == 4")...)); n < 12 {
		t.Fatalf("the capture holds %d WireGuard transport messages, want at least 12", n)
	}
	if got := tsharkLines(t, capture, append(decode, "-Y", "icmp")...); len(got) != 0 {
		t.Fatalf("without a key log tshark shows ICMP packets:\n%s", strings.Join(got, "\n"))
	}
	for _, log := range []string{logA, logB} {
		if log == "" {
			continue
		}
		lines := tsharkLines(t, capture, append(decode, "-o", "wg.keylog_file:"+log, "-Y", "icmp",
			"-T", "fields", "-E", "occurrence=l", "-e", "ip.src", "-e", "ip.dst", "-e", "icmp.type")...)
		seen := map[string]int{}
		for _, l := range lines {
			seen[strings.Join(strings.Fields(l), " ")]++
		}
		for _, want := range []string{
			innerA4 + " " + innerB4 + " 8", innerB4 + " " + innerA4 + " 0", // a pings b
			innerB4 + " " + innerA4 + " 8", innerA4 + " " + innerB4 + " 0", // b pings a
		} {
			if seen[want] < 3 {
				t.Errorf("with %s, tshark shows %d ICMP packets %q (src dst type), want at least 3; it shows:\n%s",
					filepath.Base(log), seen[want], want, strings.Join(lines, "\n"))
			}
		}
	}
}

// waitLog waits until the daemon's log holds text.
func waitLog(t *testing.T, d *Daemon, text string) {
	t.Helper()
	deadline := time.Now().Add(socketTimeout)
	for {
		if b, _ := os.ReadFile(d.LogPath); strings.Contains(string(b), text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s daemon's log lacks %q:\n%s", d.Impl.Name, text, d.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startCapture runs tshark on dev inside ns, writing UDP datagrams to
// file, and returns once it captures; the returned function stops it and
// waits until the file is complete.
func startCapture(t *testing.T, ns *Netns, dev, file string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := ns.Command(ctx, "tshark", "-i", dev, "-f", "udp", "-w", file)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("tshark: %v", err)
	}
	started := make(chan struct{})
	var out strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Capturing on") {
				close(started)
				for sc.Scan() {
				}
				return
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		cancel()
		t.Fatalf("tshark did not start capturing on %s:\n%s", dev, out.String())
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		defer cancel()
		time.Sleep(300 * time.Millisecond) // the last packets into the file
		// ip netns exec runs tshark itself (exec), so the signal reaches it.
		cmd.Process.Signal(syscall.SIGINT)
		if err := cmd.Wait(); err != nil && ctx.Err() != nil {
			t.Errorf("tshark: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// tsharkLines reads a capture file with tshark and returns its non-empty
// output lines.
func tsharkLines(t *testing.T, file string, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tshark", append([]string{"-r", file, "-n"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", strings.Join(args, " "), err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
