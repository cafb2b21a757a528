//go:build !windows

package uapi

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/warren-vpn/warren/internal/safedir"
)

// staleSocket leaves a socket file at path that nobody listens on, as a
// crashed daemon does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
}

func TestListenCreatesPrivateSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "wireguard")
	l, err := Listen(dir, "wutest0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o755 {
		t.Errorf("dir mode %v, want 0755", di.Mode().Perm())
	}
	path := filepath.Join(dir, "wutest0.sock")
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("socket mode %v, want a socket for its owner only", fi.Mode())
	}
	if got := l.Addr().String(); got != path {
		t.Errorf("Addr = %q, want %q", got, path)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("dir holds %d entries, want only the socket (temporary directory left behind?)", len(ents))
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file still there after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestListenReplacesStaleSocket(t *testing.T) {
	dir := t.TempDir()
	staleSocket(t, filepath.Join(dir, "wutest.sock"))
	l, err := Listen(dir, "wutest")
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	c, err := Dial(dir, "wutest")
	if err != nil {
		t.Fatalf("Dial the new socket: %v", err)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestListenRefusesLiveSocket(t *testing.T) {
	dir := t.TempDir()
	l, err := Listen(dir, "wutest")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l2, err := Listen(dir, "wutest")
	if !errors.Is(err, ErrSocketInUse) {
		if l2 != nil {
			l2.Close()
		}
		t.Fatalf("second Listen = %v, want ErrSocketInUse", err)
	}
	// The first listener still owns the path.
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := Dial(dir, "wutest")
	if err != nil {
		t.Fatalf("first listener lost its socket: %v", err)
	}
	c.Close()
}

func TestListenLeavesNonSocketAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wutest.sock")
	if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := Listen(dir, "wutest"); err == nil {
		l.Close()
		t.Fatal("Listen replaced a regular file")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "keep" {
		t.Errorf("file changed: %q, %v", b, err)
	}
}

// TestListenRefusesUnsafeDir: a socket directory that others can write to,
// or a symlink planted in its place, is not used (someone could swap the
// socket for their own and collect the keys wg sends).
func TestListenRefusesUnsafeDir(t *testing.T) {
	base := t.TempDir()
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o777)
	elsewhere := filepath.Join(base, "elsewhere")
	os.Mkdir(elsewhere, 0o700)
	link := filepath.Join(base, "link")
	os.Symlink(elsewhere, link)
	for _, dir := range []string{open, link} {
		if l, err := Listen(dir, "wutest"); !errors.Is(err, safedir.ErrUnsafe) {
			if l != nil {
				l.Close()
			}
			t.Errorf("Listen(%s) = %v, want safedir.ErrUnsafe", dir, err)
		}
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Errorf("Listen created %v through the symlink", ents)
	}
}

func TestCloseKeepsSomeoneElsesSocket(t *testing.T) {
	dir := t.TempDir()
	l, err := Listen(dir, "wutest")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "wutest.sock")
	// Another daemon took over the name (after removing ours).
	os.Remove(path)
	staleSocket(t, path)
	l.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("Close removed a socket it did not create: %v", err)
	}
}

func TestListenRejectsBadNames(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", "../x", "a/b", ".", "toolongname01234"} {
		if l, err := Listen(dir, name); !errors.Is(err, ErrInvalidName) {
			if l != nil {
				l.Close()
			}
			t.Errorf("Listen(%q) = %v, want ErrInvalidName", name, err)
		}
		if _, err := Dial(dir, name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Dial(%q) = %v, want ErrInvalidName", name, err)
		}
	}
}

func TestDialMissing(t *testing.T) {
	if _, err := Dial(t.TempDir(), "wutest"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Dial = %v, want fs.ErrNotExist", err)
	}
}

func TestInterfaces(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"zz1", "aa0", "mid"} {
		l, err := Listen(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
	}
	staleSocket(t, filepath.Join(dir, "dead.sock"))
	staleSocket(t, filepath.Join(dir, "bad:name.sock"))
	os.WriteFile(filepath.Join(dir, "file.sock"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "other.txt"), nil, 0o600)
	os.Mkdir(filepath.Join(dir, "dir.sock"), 0o700)
	// A live socket with an invalid name is not listed either.
	bad, err := net.Listen("unix", filepath.Join(dir, "x y.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()

	got, err := Interfaces(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"aa0", "mid", "zz1"}; !slices.Equal(got, want) {
		t.Errorf("Interfaces = %q, want %q", got, want)
	}
	if got, err := Interfaces(filepath.Join(dir, "missing")); err != nil || len(got) != 0 {
		t.Errorf("Interfaces(missing dir) = %q, %v; want none", got, err)
	}
}

// TestListenerHandOver: a daemon passes the socket to its child and leaves
// without removing the socket file.
func TestListenerHandOver(t *testing.T) {
	dir := t.TempDir()
	l, err := Listen(dir, "wutest")
	if err != nil {
		t.Fatal(err)
	}
	fl, ok := l.(interface {
		File() (*os.File, error)
		SetUnlinkOnClose(bool)
	})
	if !ok {
		l.Close()
		t.Fatalf("%T has no File and SetUnlinkOnClose", l)
	}
	f, err := fl.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fl.SetUnlinkOnClose(false)
	l.Close()
	// The "child" serves on the inherited descriptor.
	child, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	go func() {
		if c, err := child.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := Dial(dir, "wutest")
	if err != nil {
		t.Fatalf("socket gone after hand-over: %v", err)
	}
	c.Close()
}
