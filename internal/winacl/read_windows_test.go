package winacl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestReadFileSecurity: a file's descriptor reads as SDDL that Parse
// takes, with an owner and a DACL; a missing file is an error.
func TestReadFileSecurity(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := ReadFileSecurity(p)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	if sd.Owner == "" || sd.DACL == nil {
		t.Errorf("%q: owner %q, DACL %v; want both", text, sd.Owner, sd.DACL)
	}
	if _, err := ReadFileSecurity(p + ".missing"); err == nil {
		t.Error("ReadFileSecurity of a missing file succeeded")
	}
}

// TestAccountName: well-known SIDs have their names; a SID no account
// has, or a malformed one, has none.
func TestAccountName(t *testing.T) {
	for sid, want := range map[string]string{
		"S-1-5-32-544":          `BUILTIN\Administrators`,
		"S-1-5-21-1-2-3-987654": "",
		"not a SID":             "",
	} {
		if got := AccountName(sid); !strings.EqualFold(got, want) {
			t.Errorf("AccountName(%q) = %q, want %q", sid, got, want)
		}
	}
	if got := AccountName("S-1-5-18"); !strings.HasSuffix(strings.ToUpper(got), `\SYSTEM`) {
		t.Errorf("AccountName(S-1-5-18) = %q, want ...\\SYSTEM", got)
	}
}

// TestFinalPath: an open file's final path is its path in `\\?\` form, and
// a path longer than MAX_PATH comes back whole (on Windows: wine 8 fails
// such a path with ERROR_MORE_DATA whatever the buffer).
func TestFinalPath(t *testing.T) {
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "f.txt")}
	if windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() != nil {
		long := filepath.Join(dir, strings.Repeat("d", 120), strings.Repeat("e", 120))
		if err := os.MkdirAll(long, 0o755); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, filepath.Join(long, "f.txt"))
	}
	for _, p := range paths {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		final, err := FinalPath(windows.Handle(f.Fd()))
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(final, `\\?\`) || !strings.EqualFold(StripExtendedPrefix(final), p) {
			t.Errorf("FinalPath of %s = %q", p, final)
		}
	}
	if _, err := FinalPath(windows.InvalidHandle); err == nil {
		t.Error("FinalPath of an invalid handle succeeded")
	}
}
