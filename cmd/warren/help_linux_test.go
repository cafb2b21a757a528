package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/cli"
	"github.com/warren-vpn/warren/internal/netnstest"
	"github.com/warren-vpn/warren/internal/uapi"
)

// testBinary builds warren into a temporary directory, or returns
// $WARREN_TEST_BINARY (to run these tests against another build).
func testBinary(t *testing.T) string {
	t.Helper()
	if exe := os.Getenv("WARREN_TEST_BINARY"); exe != "" {
		return exe
	}
	if testing.Short() {
		t.Skip("builds warren")
	}
	exe := filepath.Join(t.TempDir(), "warren")
	build := exec.Command("go", "build", "-o", exe, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// TestHelpCreatesNothing runs the built binary's every command with -h and
// --help, as wg, wg-quick and wireguard-go too, and checks that each
// prints its help on stdout with exit 0 and creates nothing: no file in
// its working, home or runtime directory, no UAPI socket and (as root, in
// a namespace of its own) no interface, not even for a moment.
func TestHelpCreatesNothing(t *testing.T) {
	exe := testBinary(t)
	dir := t.TempDir()
	for _, d := range []string{"cwd", "home", "xdg", "bin"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"wg", "wg-quick", "wireguard-go"} {
		if err := os.Symlink(exe, filepath.Join(dir, "bin", name)); err != nil {
			t.Fatal(err)
		}
	}
	var prefix []string
	ns := ""
	if os.Geteuid() == 0 {
		ns = netnstest.New(t, "wrh")
		prefix = []string{"ip", "netns", "exec", ns}
	}
	type call struct{ argv []string }
	var calls []call
	for _, c := range cli.Commands {
		for _, flag := range []string{"-h", "--help"} {
			calls = append(calls, call{[]string{exe, c.Name, flag}})
		}
		calls = append(calls, call{[]string{exe, "help", c.Name}})
	}
	for _, flag := range []string{"-h", "--help"} {
		calls = append(calls,
			call{[]string{filepath.Join(dir, "bin", "wireguard-go"), flag}},
			call{[]string{filepath.Join(dir, "bin", "wg-quick"), "up", flag}},
			call{[]string{filepath.Join(dir, "bin", "wg"), "show", flag}},
			call{[]string{filepath.Join(dir, "bin", "wg"), "set", flag}})
	}
	for _, c := range calls {
		argv := append(slices.Clone(prefix), c.argv...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = filepath.Join(dir, "cwd")
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + filepath.Join(dir, "home"),
			"XDG_RUNTIME_DIR=" + filepath.Join(dir, "xdg")}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		name := strings.Join(c.argv[1:], " ")
		if err != nil || !strings.Contains(string(out), "Usage:") || stderr.Len() != 0 {
			t.Errorf("%s %s: %v, stdout %q, stderr %q; want the help on stdout", filepath.Base(c.argv[0]), name, err, firstLine(string(out)), stderr.String())
		}
	}
	for _, d := range []string{"cwd", "home", "xdg"} {
		if ents, _ := os.ReadDir(filepath.Join(dir, d)); len(ents) != 0 {
			t.Errorf("--help left %s in %s", ents[0].Name(), d)
		}
	}
	socketsAfter, _ := os.ReadDir(uapi.DefaultSocketDir)
	for _, s := range socketsAfter {
		if strings.HasPrefix(s.Name(), "-") {
			t.Errorf("socket %s appeared", s.Name())
		}
	}
	if ns != "" {
		if links := netnstest.IP(t, "-n", ns, "-o", "link", "show"); strings.Count(links, "\n") != 1 {
			t.Errorf("links in the namespace after --help:\n%s", links)
		}
	}
}

// TestCommandLineBinary checks the built binary's top-level help and
// errors: `warren bogus` lists every command (not wg's alone) and exits 1;
// `warren help up` is up's help; `warren import --help` says it is
// Windows-only here.
func TestCommandLineBinary(t *testing.T) {
	exe := testBinary(t)
	out := func(args ...string) (string, string, int) {
		cmd := exec.Command(exe, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		o, _ := cmd.Output()
		return string(o), stderr.String(), cmd.ProcessState.ExitCode()
	}
	if o, e, code := out("bogus"); code != 1 || o != "" || !strings.Contains(e, `unknown command "bogus"`) ||
		!strings.Contains(e, "\n  daemon ") || !strings.Contains(e, "\n  up ") || !strings.Contains(e, "\n  proxy ") {
		t.Errorf("warren bogus: exit %d, stdout %q, stderr %q", code, o, e)
	}
	if o, _, code := out("help", "up"); code != 0 || !strings.HasPrefix(o, "Usage: warren [ up | down | save | strip ]") {
		t.Errorf("warren help up: exit %d, stdout %q", code, firstLine(o))
	}
	if o, _, code := out("import", "--help"); code != 0 || !strings.HasPrefix(o, "warren import is Windows-only") {
		t.Errorf("warren import --help: exit %d, stdout %q", code, firstLine(o))
	}
	if o, _, _ := out("--help"); strings.Contains(o, "\n  import ") || strings.Contains(o, "\n  service ") {
		t.Errorf("warren --help lists Windows-only commands:\n%s", o)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
