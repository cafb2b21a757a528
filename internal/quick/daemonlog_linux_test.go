package quick

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/ringlog"
)

// TestDaemonLog: the device up starts in the background writes its log to
// DaemonLogPath (0600, in a 0700 directory), handshakes included, where
// the manager follows it.
func TestDaemonLog(t *testing.T) {
	requireRoot(t)
	tp := newTopo(t, true)
	b := binaries(t)
	path := tp.conf(t, "", "10.99.0.1/32", "")
	logPath := DaemonLogPath(tp.iface)
	t.Cleanup(func() { os.Remove(logPath) })
	if out, err := tp.run(nil, b.warren, "up", path); err != nil {
		t.Fatalf("warren up: %v\n%s", err, out)
	}
	defer tp.run(nil, b.warren, "down", path)
	tp.ping(t, "10.99.0.1")
	var lines []ringlog.Line
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := ringlog.OpenReader(logPath)
		if err == nil {
			lines, err = r.Next()
			r.Close()
		}
		if err != nil {
			t.Fatalf("read the device's log: %v", err)
		}
		found := false
		for _, l := range lines {
			found = found || strings.Contains(l.Text, "handshake") && l.Tag == "TUN"
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no handshake in the device's log %s:\n%v", logPath, lines)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for p, want := range map[string]os.FileMode{logPath: 0o600, DaemonLogDir: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
}
