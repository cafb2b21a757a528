package daemon

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/warren-vpn/warren/internal/testenv"
)

// TestOpenKeyLog: an unset WARREN_KEYLOG opens nothing; a missing file is
// created 0600 whatever the umask; an existing 0600 file of ours is
// appended to; anything others could read or that is not a plain file of
// ours is refused, unchanged.
func TestOpenKeyLog(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(envKeyLog, "")
	if f, _, err := openKeyLog(); f != nil || err != nil {
		t.Fatalf("unset: %v, %v", f, err)
	}

	fresh := filepath.Join(dir, "fresh.keys")
	t.Setenv(envKeyLog, fresh)
	old := syscall.Umask(0)
	f, path, err := openKeyLog()
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	if path != fresh {
		t.Errorf("path %q, want %q", path, fresh)
	}
	f.WriteString("LINE\n")
	f.Close()
	if st, err := os.Lstat(fresh); err != nil || st.Mode() != 0o600 {
		t.Fatalf("created with mode %v (%v), want -rw-------", st.Mode(), err)
	}

	// Reopened, it appends.
	f, _, err = openKeyLog()
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("MORE\n")
	f.Close()
	if b, _ := os.ReadFile(fresh); string(b) != "LINE\nMORE\n" {
		t.Errorf("contents %q after a reopen", b)
	}

	// Relative paths are made absolute (the background child runs in /).
	t.Chdir(dir)
	t.Setenv(envKeyLog, "fresh.keys")
	f, path, err = openKeyLog()
	if err != nil || path != fresh {
		t.Fatalf("relative path: %q, %v", path, err)
	}
	f.Close()

	for _, c := range []struct {
		name, want string
		make       func(path string) error
	}{
		{"world-readable", "mode 0644", func(p string) error { return writeMode(p, 0o644) }},
		{"group-writable", "mode 0620", func(p string) error { return writeMode(p, 0o620) }},
		{"symlink", "symbolic link", func(p string) error { return os.Symlink(fresh, p) }},
		{"dangling-symlink", "symbolic link", func(p string) error { return os.Symlink(filepath.Join(dir, "nowhere"), p) }},
		{"directory", "not a regular file", func(p string) error { return os.Mkdir(p, 0o700) }},
		{"fifo", "not a regular file", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			if err := c.make(p); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Lstat(p)
			t.Setenv(envKeyLog, p)
			f, _, err := openKeyLog()
			if f != nil {
				f.Close()
			}
			if !errors.Is(err, ErrKeyLogUnsafe) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), envKeyLog+"="+p) {
				t.Fatalf("err = %v, want ErrKeyLogUnsafe naming %s=%s and %q", err, envKeyLog, p, c.want)
			}
			after, _ := os.Lstat(p)
			if before.Mode() != after.Mode() || before.Size() != after.Size() {
				t.Errorf("refused file changed: %v %d -> %v %d", before.Mode(), before.Size(), after.Mode(), after.Size())
			}
		})
	}
	if b, _ := os.ReadFile(fresh); string(b) != "LINE\nMORE\n" {
		t.Errorf("the symlinks' target was written: %q", b)
	}
}

// TestOpenKeyLogForeignOwner: a 0600 file that belongs to another user is
// refused (its owner could read the keys).
func TestOpenKeyLogForeignOwner(t *testing.T) {
	testenv.RequireRoot(t)
	p := filepath.Join(t.TempDir(), "foreign.keys")
	if err := writeMode(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envKeyLog, p)
	if f, _, err := openKeyLog(); !errors.Is(err, ErrKeyLogUnsafe) || !strings.Contains(err.Error(), "uid 65534") {
		if f != nil {
			f.Close()
		}
		t.Fatalf("err = %v, want ErrKeyLogUnsafe naming the owner", err)
	}
}

// TestUnsafeKeyLogFailsStart: the daemon refuses an unsafe key log before
// creating anything, and says why on stderr.
func TestUnsafeKeyLogFailsStart(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys")
	if err := writeMode(p, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envKeyLog, p)
	var out, errb bytes.Buffer
	const iface = "wrkeylog0"
	if code := Main("warren daemon", []string{"-f", iface}, &out, &errb); code == 0 {
		t.Fatal("exit code 0 with a world-readable key log")
	}
	if got := errb.String(); !strings.Contains(got, envKeyLog+"="+p) || !strings.Contains(got, "mode 0644") {
		t.Errorf("stderr = %q, want it to name %s and the mode", got, envKeyLog)
	}
	if _, err := net.InterfaceByName(iface); err == nil {
		t.Errorf("interface %s exists after the refused start", iface)
	}
	if _, err := os.Stat(socketPath(iface)); err == nil {
		t.Errorf("socket %s exists after the refused start", socketPath(iface))
	}
}

// writeMode creates path with some content and exactly mode.
func writeMode(path string, mode os.FileMode) error {
	if err := os.WriteFile(path, []byte("old\n"), mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}
