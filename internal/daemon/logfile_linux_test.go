package daemon

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/netnstest"
	"github.com/warren-vpn/warren/internal/ringlog"
	"github.com/warren-vpn/warren/internal/uapi"
)

func readRing(t *testing.T, path string) []ringlog.Line {
	t.Helper()
	r, err := ringlog.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	lines, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestWithRingLog(t *testing.T) {
	tests := []struct {
		level    string
		explicit bool
		want     []string // "TAG text"
	}{
		{"error", false, []string{"TUN v", "ERR e"}}, // LOG_LEVEL unset: the ring is verbose
		{"verbose", true, []string{"TUN v", "ERR e"}},
		{"error", true, []string{"ERR e"}},
		{"silent", true, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.level, tt.explicit), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "wg0.log")
			rl, err := ringlog.Open(path, ringlog.Options{Lines: 16})
			if err != nil {
				t.Fatal(err)
			}
			var base []string
			rec := func(tag string) func(string, ...any) {
				return func(f string, a ...any) { base = append(base, tag+" "+fmt.Sprintf(f, a...)) }
			}
			l := withRingLog(&device.Logger{Verbosef: rec("base-v"), Errorf: rec("base-e")}, rl, tt.level, tt.explicit)
			l.Verbosef("v")
			l.Errorf("e")
			rl.Close()
			var got []string
			for _, line := range readRing(t, path) {
				got = append(got, line.Tag+" "+line.Text)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("ring holds %q, want %q", got, tt.want)
			}
			// What the base logger did is unchanged.
			if fmt.Sprint(base) != fmt.Sprint([]string{"base-v v", "base-e e"}) {
				t.Errorf("base logger got %q", base)
			}
		})
	}
}

// TestLogFile runs a device in the background, as `warren up` does, and
// finds its log in the file WARREN_LOG_FILE names: its start, and its
// shutdown when its socket is removed.
func TestLogFile(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true and this test needs root")
		}
		t.Skip("needs root for a TUN device")
	}
	ns := netnstest.New(t, "dlog")
	bin := filepath.Join(t.TempDir(), "warren")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/warren-vpn/warren/cmd/warren").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	iface := "wl" + ns[len(ns)-8:]
	logPath := filepath.Join(t.TempDir(), iface+".log")
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "daemon", iface)
	cmd.Env = append(os.Environ(), envLogFile+"="+logPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("warren daemon: %v\n%s", err, out.String())
	}
	sock := filepath.Join(uapi.DefaultSocketDir, iface+".sock")
	t.Cleanup(func() { os.Remove(sock) })
	waitFor := func(text string) []ringlog.Line {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var lines []ringlog.Line
			if _, err := os.Stat(logPath); err == nil {
				lines = readRing(t, logPath)
				for _, l := range lines {
					if l.Tag == logTagTunnel && strings.Contains(l.Text, text) {
						return lines
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log file; it holds %v", text, lines)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("Device started")
	fi, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	waitFor("Shutting down")
}
