//go:build unix

package manager_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/warren-vpn/warren/internal/manager"
)

func TestDirStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wireguard")
	s, err := manager.NewDirStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("new directory mode %v, want 0700", fi.Mode().Perm())
	}
	if err := s.Write("wg0", []byte("[Interface]\n")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "wg0.conf")); fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	// Only files named NAME.conf with a valid NAME are tunnels.
	for _, n := range []string{"..conf", "-x.conf", "toolongnameforaniface.conf", "wg1.conf.bak", "a b.conf"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	os.Mkdir(filepath.Join(dir, "d.conf"), 0o700)
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "wg0" || list[0].Size != 12 {
		t.Errorf("list %+v, want only wg0", list)
	}
	for _, bad := range []string{"../wg0", "wg0/x", "", ".."} {
		if _, err := s.Read(bad); !errors.Is(err, manager.ErrBadName) {
			t.Errorf("Read(%q): %v, want ErrBadName", bad, err)
		}
		if err := s.Write(bad, nil); !errors.Is(err, manager.ErrBadName) {
			t.Errorf("Write(%q): %v, want ErrBadName", bad, err)
		}
	}
	if _, err := s.Read("wg9"); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("Read missing: %v", err)
	}
	if err := s.Delete("wg0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("wg0"); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("Delete twice: %v", err)
	}
	// A directory others may write is refused: a planted file's hooks
	// would run as root.
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	if _, err := manager.NewDirStore(open); err == nil {
		t.Error("a world-writable configuration directory was accepted")
	}
}
