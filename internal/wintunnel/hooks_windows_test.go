//go:build windows

package wintunnel

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/ringlog"
)

// hookHelperEnv makes this test binary act as a helper process instead of
// running tests (see TestMain).
const hookHelperEnv = "WARREN_HOOK_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(hookHelperEnv) {
	case "":
		os.Exit(m.Run())
	case "planted":
		// Stands in for a cmd.exe planted in PATH or the working directory.
		fmt.Println("planted cmd.exe ran")
		os.Exit(0)
	case "sleep":
		// Writes its process id, then outlives any test's time limit.
		os.WriteFile(os.Getenv("WARREN_HOOK_PIDFILE"), []byte(strconv.Itoa(os.Getpid())), 0o600)
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(2)
}

// lines collects what a hookRunner logs.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (c *lines) add(s string) { c.mu.Lock(); c.l = append(c.l, s); c.mu.Unlock() }

// output is what the commands printed (not the "running:" notes).
func (c *lines) output() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, l := range c.l {
		if !strings.Contains(l, ": running: ") {
			out = append(out, l)
		}
	}
	return out
}

func runHooks(t *testing.T, stage string, cmds ...string) ([]string, error) {
	t.Helper()
	var c lines
	err := hookRunner{tunnel: "wg-hooks", timeout: time.Minute, output: c.add}.run(stage, cmds)
	return c.output(), err
}

// A command reaches cmd.exe as written: quotes are not re-quoted (Go's
// quoting would make `echo "a b"` print \"a b\"), & chains, a quoted
// program path works, stdout and stderr are both logged in order, and the
// tunnel's name is in WIREGUARD_TUNNEL_NAME.
func TestHookCommandLineIsRaw(t *testing.T) {
	sys, err := windows.GetSystemDirectory()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cmd  string
		want []string
	}{
		{`echo "a b"`, []string{`PostUp: "a b"`}},
		{`echo one& echo two`, []string{"PostUp: one", "PostUp: two"}},
		{`echo out& echo err 1>&2& echo out again`, []string{"PostUp: out", "PostUp: err", "PostUp: out again"}},
		{`"` + filepath.Join(sys, "cmd.exe") + `" /c echo "x y"`, []string{`PostUp: "x y"`}},
		{`echo %WIREGUARD_TUNNEL_NAME%`, []string{"PostUp: wg-hooks"}},
		{`echo a^&b`, []string{"PostUp: a&b"}},
	} {
		got, err := runHooks(t, "PostUp", tc.cmd)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: logged %q, %v; want %q", tc.cmd, got, err, tc.want)
		}
	}
}

// A failing command stops the rest; its error names the stage, the
// command's place and its exit code, and matches ErrHookFailed.
func TestHookExitCodes(t *testing.T) {
	got, err := runHooks(t, "PreUp", "echo first", "exit 3", "echo never")
	if !errors.Is(err, ErrHookFailed) {
		t.Fatalf("err = %v, want ErrHookFailed", err)
	}
	for _, want := range []string{"tunnel wg-hooks", "PreUp command 2 of 3", "exit code 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if !slices.Equal(got, []string{"PreUp: first"}) {
		t.Errorf("logged %q; the command after the failure must not run", got)
	}
	if _, err := runHooks(t, "PostDown", "exit 0"); err != nil {
		t.Errorf("exit 0: %v", err)
	}
	if _, err := runHooks(t, "PostDown", "exit 255"); err == nil || !strings.Contains(err.Error(), "PostDown: hook command failed: exit code 255") {
		t.Errorf("exit 255: %v", err)
	}
}

// cmd.exe is the system's: one planted in the working directory or first
// in PATH is never run.
func TestHookIgnoresPlantedCmd(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cmd.exe"), data, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv(hookHelperEnv, "planted")
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Chdir(dir)
	got, err := runHooks(t, "PreUp", "echo real")
	if err != nil || !slices.Equal(got, []string{"PreUp: real"}) {
		t.Errorf("logged %q, %v; want the system's cmd.exe to echo", got, err)
	}
}

// Output lines are bounded; a line without a newline still arrives.
func TestHookOutputLines(t *testing.T) {
	long := strings.Repeat("x", 3*hookLineMax)
	got, err := runHooks(t, "PostUp", "echo "+long+"& echo short& <nul set /p=no newline")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("logged %d lines, want 3: %q", len(got), got)
	}
	if want := "PostUp: " + long[:hookLineMax] + " [...]"; got[0] != want {
		t.Errorf("long line logged as %d bytes %q..., want %d", len(got[0]), got[0][:20], len(want))
	}
	if got[1] != "PostUp: short" || got[2] != "PostUp: no newline" {
		t.Errorf("then %q", got[1:])
	}

	// The splitter alone: pieces, CRLF, a cut inside a multi-byte rune.
	var c lines
	w := &hookLines{emit: c.add}
	for _, p := range []string{"ab", "c\r\n\r\nd", strings.Repeat("é", hookLineMax), "\nend"} {
		io.WriteString(w, p)
	}
	w.flush()
	want := []string{"abc", "d" + strings.Repeat("é", (hookLineMax-1)/2) + " [...]", "end"}
	if !slices.Equal(c.l, want) {
		t.Errorf("split into %q, want %q", c.l, want)
	}
}

// At the time limit the command and what it started are ended, and the
// error says so.
func TestHookTimeLimit(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Setenv(hookHelperEnv, "sleep")
	t.Setenv("WARREN_HOOK_PIDFILE", pidFile)
	var c lines
	start := time.Now()
	err = hookRunner{tunnel: "wg-hooks", timeout: 3 * time.Second, output: c.add}.run("PostUp", []string{`"` + exe + `"`})
	if !errors.Is(err, ErrHookFailed) || !strings.Contains(err.Error(), "no exit after 3s") {
		t.Fatalf("err = %v, want a time-limit failure", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("returned after %v", d)
	}
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the helper never started: %v (log %q)", err, c.l)
	}
	n, _ := strconv.Atoi(string(pid))
	h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(n))
	if err != nil {
		return // gone already
	}
	defer windows.CloseHandle(h)
	if ev, _ := windows.WaitForSingleObject(h, 5000); ev != windows.WAIT_OBJECT_0 {
		windows.TerminateProcess(h, 1)
		t.Errorf("the process the command started still runs after the time limit (log %q)", c.l)
	}
}

// ServiceTunnel's hooks log into the engine's logger, which the service
// points at the tunnel's ring log.
func TestServiceTunnelHooksReachRingLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wg-hooks.bin")
	rl, err := ringlog.Open(path, ringlog.Options{Lines: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	s := NewServiceTunnel("wg-hooks", Options{Logger: &device.Logger{Verbosef: rl.Printf("TUN")}})
	if err := s.hooks("PostUp", []string{`echo "hello from PostUp"`}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ringlog.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, l := range got {
		texts = append(texts, l.Tag+"|"+l.Text)
	}
	want := []string{`TUN|PostUp: running: echo "hello from PostUp"`, `TUN|PostUp: "hello from PostUp"`}
	if !slices.Equal(texts, want) {
		t.Errorf("ring log holds %q, want %q", texts, want)
	}
}

// A command that starts a program in the background and exits 0 succeeds,
// after a short grace for its output, and the program keeps running.
func TestHookBackgroundProcessSurvives(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Setenv(hookHelperEnv, "sleep")
	t.Setenv("WARREN_HOOK_PIDFILE", pidFile)
	var c lines
	err = hookRunner{tunnel: "wg-hooks", timeout: time.Minute, output: c.add}.run("PostUp", []string{`start "" /b "` + exe + `"& exit 0`})
	if err != nil {
		t.Fatalf("err = %v (log %q)", err, c.l)
	}
	var pid []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if pid, err = os.ReadFile(pidFile); err == nil && len(pid) > 0 {
			break
		}
	}
	n, _ := strconv.Atoi(string(pid))
	h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_TERMINATE, false, uint32(n))
	if err != nil {
		t.Fatalf("the background process (pid %q) is gone: %v (log %q)", pid, err, c.l)
	}
	defer windows.CloseHandle(h)
	defer windows.TerminateProcess(h, 1)
	if ev, _ := windows.WaitForSingleObject(h, 0); ev == windows.WAIT_OBJECT_0 {
		t.Errorf("the background process ended with its hook")
	}
	if got := c.output(); !slices.Contains(got, "PostUp: a process the command started still holds its output, which is no longer logged") {
		t.Errorf("logged %q", got)
	}
}
