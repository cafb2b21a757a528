package winsvc

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// symlinkOrSkip makes a symbolic link, or skips where the system will not
// (Windows without the privilege, wine).
func symlinkOrSkip(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot make symbolic links here: %v", err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Skipf("symbolic link made but not there (%v): wine's CreateSymbolicLink does nothing", err)
	}
}

// A stored file that is a link is refused, not followed.
func TestStoreRefusesLinkedFile(t *testing.T) {
	st := &Store{Dir: t.TempDir(), Cipher: xorCipher{}}
	elsewhere := &Store{Dir: t.TempDir(), Cipher: xorCipher{}}
	if err := elsewhere.Save("wg0", []byte("[Interface]\n")); err != nil {
		t.Fatal(err)
	}
	symlinkOrSkip(t, elsewhere.Path("wg0"), st.Path("wg0"))
	if _, err := st.Load("wg0"); !errors.Is(err, ErrReparsePoint) {
		t.Errorf("Load through a linked file = %v, want ErrReparsePoint", err)
	}
	if names, err := st.List(); err != nil || len(names) != 0 {
		t.Errorf("List with a linked file = %q, %v; want it skipped", names, err)
	}
}

// A store folder that is a link, or that has a link between it and Root,
// is refused by every operation.
func TestStoreRefusesLinkedDir(t *testing.T) {
	base := t.TempDir()
	target := filepath.Join(base, "elsewhere")
	if err := os.MkdirAll(target, 0o700); err != nil {
		t.Fatal(err)
	}
	plain := &Store{Dir: target, Cipher: xorCipher{}}
	if err := plain.Save("wg0", []byte("x")); err != nil {
		t.Fatal(err)
	}

	linked := filepath.Join(base, "Configurations")
	symlinkOrSkip(t, target, linked)
	check := func(name string, st *Store) {
		t.Helper()
		if err := st.Save("wg1", []byte("y")); !errors.Is(err, ErrReparsePoint) {
			t.Errorf("%s: Save = %v, want ErrReparsePoint", name, err)
		}
		if _, err := st.Load("wg0"); !errors.Is(err, ErrReparsePoint) {
			t.Errorf("%s: Load = %v, want ErrReparsePoint", name, err)
		}
		if err := st.Delete("wg0"); !errors.Is(err, ErrReparsePoint) {
			t.Errorf("%s: Delete = %v, want ErrReparsePoint", name, err)
		}
		if _, err := st.List(); !errors.Is(err, ErrReparsePoint) {
			t.Errorf("%s: List = %v, want ErrReparsePoint", name, err)
		}
	}
	check("linked store folder", &Store{Dir: linked, Cipher: xorCipher{}})

	// Root\Data is a link; Root\Data\Configurations is a plain folder in it.
	root := filepath.Join(base, "warren")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(target, "Configurations"), 0o700); err != nil {
		t.Fatal(err)
	}
	symlinkOrSkip(t, target, filepath.Join(root, "Data"))
	check("link between root and store", &Store{Dir: filepath.Join(root, "Data", "Configurations"), Root: root, Cipher: xorCipher{}})

	if got, _ := os.ReadDir(target); len(got) != 2 {
		t.Errorf("the link's target holds %d entries, want the 2 it had", len(got))
	}
	if _, err := plain.Load("wg0"); err != nil {
		t.Errorf("the target store was changed: %v", err)
	}
}

func TestStoreRootMustContainDir(t *testing.T) {
	st := &Store{Dir: t.TempDir(), Root: t.TempDir(), Cipher: xorCipher{}}
	if err := st.Save("wg0", nil); err == nil {
		t.Error("a store outside its root saved")
	}
	nested := filepath.Join(t.TempDir(), "warren")
	if err := os.MkdirAll(filepath.Join(nested, "Data", "Configurations"), 0o700); err != nil {
		t.Fatal(err)
	}
	testStore(t, &Store{Dir: filepath.Join(nested, "Data", "Configurations"), Root: nested, Cipher: xorCipher{}})
}

// versionedCipher seals with a "v2:" mark and opens both "v2:" and the
// older "v1:" blobs, like DPAPI's SYSTEM-scope header over machine-scope
// blobs.
type versionedCipher struct{}

func (versionedCipher) Seal(name string, plain []byte) ([]byte, error) {
	return append([]byte("v2:"+name+":"), plain...), nil
}

func (versionedCipher) Open(name string, sealed []byte) ([]byte, error) {
	for _, v := range []string{"v2:", "v1:"} {
		if rest, ok := bytes.CutPrefix(sealed, []byte(v+name+":")); ok {
			return bytes.Clone(rest), nil
		}
	}
	return nil, errors.New("not sealed for " + name)
}

func (versionedCipher) Outdated(sealed []byte) bool { return !bytes.HasPrefix(sealed, []byte("v2:")) }

// A configuration sealed the old way opens and is sealed again the new way.
func TestStoreReseals(t *testing.T) {
	st := &Store{Dir: t.TempDir(), Cipher: versionedCipher{}}
	if err := os.WriteFile(st.Path("wg0"), []byte("v1:wg0:secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load("wg0")
	if err != nil || string(got) != "secret" {
		t.Fatalf("Load = %q, %v", got, err)
	}
	raw, _ := os.ReadFile(st.Path("wg0"))
	if string(raw) != "v2:wg0:secret" {
		t.Errorf("after Load the file holds %q, want it sealed again", raw)
	}
	// A read-only store still opens it.
	if runtime.GOOS != "windows" && os.Geteuid() != 0 {
		ro := &Store{Dir: t.TempDir(), Cipher: versionedCipher{}}
		os.WriteFile(ro.Path("wg0"), []byte("v1:wg0:secret"), 0o600)
		os.Chmod(ro.Dir, 0o500)
		defer os.Chmod(ro.Dir, 0o700)
		if got, err := ro.Load("wg0"); err != nil || string(got) != "secret" {
			t.Errorf("Load from a read-only store = %q, %v", got, err)
		}
	}
	if names, _ := st.List(); !slices.Equal(names, []string{"wg0"}) {
		t.Errorf("List = %q", names)
	}
}
