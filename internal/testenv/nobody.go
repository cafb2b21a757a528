package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// Nobody is the uid and gid AsNobody runs as.
const Nobody = 65534

// AsNobody returns a command that runs a copy of the test binary with
// args (as "-test.run=^TestX$") as the user and group nobody, with no
// supplementary groups and no inheritable capabilities, in a directory of
// its own that is removed when the test ends (the build cache, where the
// test binary is, is private to root). The caller sets its Env. It needs
// Linux, root and setpriv (util-linux): elsewhere t skips, and without
// root or setpriv t skips, or fails in CI.
func AsNobody(ctx context.Context, t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("drops privileges with Linux's setpriv")
	}
	RequireRoot(t)
	RequireTool(t, "setpriv", "util-linux")
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: its parent is private to root too.
	dir, err := os.MkdirTemp("", "warren-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, filepath.Base(self))
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	id := strconv.Itoa(Nobody)
	cmd := exec.CommandContext(ctx, setpriv, append([]string{"--reuid=" + id, "--regid=" + id, "--clear-groups",
		"--inh-caps=-all", exe}, args...)...)
	cmd.Dir = dir
	return cmd
}
