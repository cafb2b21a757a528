package demo

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/testenv"
)

func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines left (had %d):\n%s", runtime.NumGoroutine(), before, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func TestDemo(t *testing.T) {
	checkGoroutines(t)
	var out, errOut bytes.Buffer
	if code := Main("warren demo", []string{"--size", "8"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"[1/4] handshake ........ ok", "[2/4] web request ...... ok", "hello from bob",
		"[3/4] transfer ......... ok, 8 MiB", "SHA-256 matches", "interface: alice", "interface: bob",
		"latest handshake:", "All steps passed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "private key: ") && !strings.Contains(out.String(), "private key: (hidden)") {
		t.Error("a private key was printed")
	}
	t.Logf("\n%s", out.String())
}

func TestDemoUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main("warren demo", []string{"extra"}, &out, &errOut); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if code := Main("warren demo", []string{"--size", "0"}, &out, &errOut); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
}

// TestDemoUnprivileged runs the demo as uid 65534 (nobody), so that
// "rootless" is proven rather than assumed. It needs root and setpriv.
func TestDemoUnprivileged(t *testing.T) {
	if os.Getenv("WARREN_DEMO_CHILD") == "1" {
		os.Exit(Main("warren demo", []string{"--size", "4"}, os.Stdout, os.Stderr))
	}
	if runtime.GOOS != "linux" {
		t.Skip("drops privileges with Linux's setpriv")
	}
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "setpriv", "util-linux")
	setpriv, _ := exec.LookPath("setpriv")
	// The test binary must be readable by nobody: copy it out of the
	// build cache's private directory.
	dir, err := os.MkdirTemp("", "warren-demo-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := dir + "/demo.test"
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
		exe, "-test.run=^TestDemoUnprivileged$")
	cmd.Dir = dir
	cmd.Env = []string{"WARREN_DEMO_CHILD=1", "PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "All steps passed") {
		t.Fatalf("output:\n%s", out)
	}
}
