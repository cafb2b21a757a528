//go:build !windows

package safedir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/warren-vpn/warren/internal/testenv"
)

func requireRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
}

// base is a private directory to build cases under (t.TempDir is 0700 and
// ours; /tmp above it is sticky).
func base(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEnsureCreates(t *testing.T) {
	d := filepath.Join(base(t), "a", "b", "c")
	if err := Ensure(d, 0o700); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	for _, p := range []string{d, filepath.Dir(d), filepath.Dir(filepath.Dir(d))} {
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: %v, mode %v; want a 0700 directory", p, err, fi.Mode())
		}
	}
	// Reusing a good one is fine.
	if err := Ensure(d, 0o700); err != nil {
		t.Errorf("Ensure again: %v", err)
	}
	if err := Ensure(filepath.Join(base(t), "x"), 0o777); !errors.Is(err, ErrUnsafe) {
		t.Errorf("Ensure with mode 0777 = %v, want ErrUnsafe", err)
	}
}

func TestEnsureRefuses(t *testing.T) {
	tests := []struct {
		name  string
		root  bool
		setup func(t *testing.T, b string) string // returns the dir to Ensure
	}{
		{"symlink to another directory", false, func(t *testing.T, b string) string {
			other := filepath.Join(b, "attacker")
			os.Mkdir(other, 0o700)
			os.Symlink(other, filepath.Join(b, "state"))
			return filepath.Join(b, "state")
		}},
		{"dangling symlink", false, func(t *testing.T, b string) string {
			os.Symlink(filepath.Join(b, "nowhere"), filepath.Join(b, "state"))
			return filepath.Join(b, "state")
		}},
		{"world-writable", false, func(t *testing.T, b string) string {
			d := filepath.Join(b, "state")
			os.Mkdir(d, 0o700)
			os.Chmod(d, 0o777)
			return d
		}},
		{"group-writable", false, func(t *testing.T, b string) string {
			d := filepath.Join(b, "state")
			os.Mkdir(d, 0o700)
			os.Chmod(d, 0o770)
			return d
		}},
		{"a file", false, func(t *testing.T, b string) string {
			d := filepath.Join(b, "state")
			os.WriteFile(d, nil, 0o600)
			return d
		}},
		{"parent writable by others, not sticky", false, func(t *testing.T, b string) string {
			p := filepath.Join(b, "shared")
			os.Mkdir(p, 0o700)
			os.Chmod(p, 0o777)
			return filepath.Join(p, "state")
		}},
		{"another user's", true, func(t *testing.T, b string) string {
			d := filepath.Join(b, "state")
			os.Mkdir(d, 0o700)
			if err := os.Chown(d, 12345, 12345); err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{"under another user's directory", true, func(t *testing.T, b string) string {
			p := filepath.Join(b, "theirs")
			os.Mkdir(p, 0o755)
			if err := os.Chown(p, 12345, 12345); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(p, "state")
		}},
		{"symlink owned by another user above it", true, func(t *testing.T, b string) string {
			real := filepath.Join(b, "real")
			os.Mkdir(real, 0o755)
			link := filepath.Join(b, "link")
			os.Symlink(real, link)
			if err := os.Lchown(link, 12345, 12345); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(link, "state")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				requireRoot(t)
			}
			d := tt.setup(t, base(t))
			if err := Ensure(d, 0o700); !errors.Is(err, ErrUnsafe) {
				t.Errorf("Ensure(%s) = %v, want ErrUnsafe", d, err)
			}
		})
	}
}

// TestEnsureFollowsSystemSymlinks: a root-owned (or own) symlink above the
// directory, as Debian's /var/run → /run, is followed and checked there.
func TestEnsureFollowsSystemSymlinks(t *testing.T) {
	b := base(t)
	real := filepath.Join(b, "run")
	os.Mkdir(real, 0o755)
	os.Symlink(real, filepath.Join(b, "varrun"))
	if err := Ensure(filepath.Join(b, "varrun", "wireguard"), 0o755); err != nil {
		t.Fatalf("Ensure through an own symlink: %v", err)
	}
	if fi, err := os.Lstat(filepath.Join(real, "wireguard")); err != nil || !fi.IsDir() {
		t.Errorf("not created where the symlink leads: %v", err)
	}
	// Sticky and world-writable above (as /tmp) is fine.
	sticky := filepath.Join(b, "tmp")
	os.Mkdir(sticky, 0o700)
	os.Chmod(sticky, 0o777|os.ModeSticky)
	if err := Ensure(filepath.Join(sticky, "warren"), 0o700); err != nil {
		t.Errorf("Ensure under a sticky directory: %v", err)
	}
}

func TestNoFollow(t *testing.T) {
	b := base(t)
	target := filepath.Join(b, "target")
	os.WriteFile(target, []byte("secret"), 0o600)
	link := filepath.Join(b, "link")
	os.Symlink(target, link)
	if _, err := ReadFile(link); !errors.Is(err, ErrUnsafe) {
		t.Errorf("ReadFile(symlink) = %v, want ErrUnsafe", err)
	}
	if _, err := OpenFile(link, os.O_WRONLY|os.O_TRUNC, 0); !errors.Is(err, ErrUnsafe) {
		t.Errorf("OpenFile(symlink) = %v, want ErrUnsafe", err)
	}
	if got, _ := os.ReadFile(target); string(got) != "secret" {
		t.Errorf("target changed: %q", got)
	}
	if got, err := ReadFile(target); err != nil || string(got) != "secret" {
		t.Errorf("ReadFile(regular) = %q, %v", got, err)
	}
	if _, err := ReadFile(b); !errors.Is(err, ErrUnsafe) {
		t.Errorf("ReadFile(directory) = %v, want ErrUnsafe", err)
	}
}
