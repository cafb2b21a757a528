package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionFromLinker builds warren the way scripts/release.sh does
// (-ldflags -X on internal/buildinfo) and checks that `warren version`,
// `warren --version` and `warren daemon --version` all print that version,
// the first two with the commit.
func TestVersionFromLinker(t *testing.T) {
	if testing.Short() {
		t.Skip("builds warren")
	}
	const (
		pkg     = "github.com/warren-vpn/warren/internal/buildinfo"
		version = "9.8.7+20261126075300"
		commit  = "0123456789abcdef0123456789abcdef01234567"
	)
	exe := filepath.Join(t.TempDir(), "warren")
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-X "+pkg+".version="+version+" -X "+pkg+".commit="+commit, "-o", exe, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(exe, args...).Output()
		if err != nil {
			t.Fatalf("warren %s: %v", args[0], err)
		}
		want := "warren v" + version + "\ncommit " + commit + "\n"
		if !strings.HasPrefix(string(out), want) {
			t.Errorf("warren %s printed %q, want it to start with %q", args[0], out, want)
		}
	}
	out, err := exec.Command(exe, "daemon", "--version").Output()
	if err != nil {
		t.Fatalf("warren daemon --version: %v", err)
	}
	if first, _, _ := strings.Cut(string(out), "\n"); first != "warren v"+version {
		t.Errorf("warren daemon --version starts with %q, want %q", first, "warren v"+version)
	}
}

func TestVersionArgs(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := versionMain(nil, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "warren v") {
		t.Errorf("versionMain() = %d, %q", code, stdout.String())
	}
	stdout.Reset()
	if code := versionMain([]string{"extra"}, &stdout, &stderr); code == 0 || stdout.Len() != 0 {
		t.Errorf("versionMain(extra) = %d, printed %q; want a usage error", code, stdout.String())
	}
}
