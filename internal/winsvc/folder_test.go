package winsvc

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeProgramFiles is a programFiles over a temporary folder that records
// its calls; failReplace makes moving over that destination fail, as
// Windows does for a running program.
type fakeProgramFiles struct {
	programFiles
	prepared, secured []string
	replaced          []string
	failReplace       string
}

func newFakeProgramFiles(t *testing.T) *fakeProgramFiles {
	f := &fakeProgramFiles{}
	f.Dir = filepath.Join(t.TempDir(), "Program Files", "warren")
	f.Prepare = func(dir string) error {
		f.prepared = append(f.prepared, dir)
		return os.MkdirAll(dir, 0o755)
	}
	f.Secure = func(p string) error { f.secured = append(f.secured, p); return nil }
	f.Replace = func(from, to string) error {
		if to == f.failReplace {
			return errors.New("Access is denied.")
		}
		f.replaced = append(f.replaced, to)
		return os.Rename(from, to)
	}
	return f
}

// download makes a folder holding a warren.exe (and a wintun.dll).
func download(t *testing.T, exe, dll string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "Downloads")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "warren.exe"), exe)
	if dll != "" {
		write(t, filepath.Join(dir, "wintun.dll"), dll)
	}
	return filepath.Join(dir, "warren.exe")
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noTempFiles fails if staging left anything behind in dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".warren-") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

// Install copies warren.exe and wintun.dll out of Downloads into the
// program folder and registers that copy, not the one it ran from.
func TestPlaceCopiesIntoProgramFolder(t *testing.T) {
	pf := newFakeProgramFiles(t)
	exe := download(t, "warren v2", "wintun signed")
	got, err := pf.place(exe)
	if err != nil {
		t.Fatal(err)
	}
	want := placement{
		Exe:    filepath.Join(pf.Dir, "warren.exe"),
		DLL:    filepath.Join(pf.Dir, "wintun.dll"),
		Copied: []string{filepath.Join(pf.Dir, "warren.exe"), filepath.Join(pf.Dir, "wintun.dll")},
	}
	if got.Exe != want.Exe || got.DLL != want.DLL || !slices.Equal(got.Copied, want.Copied) || len(got.Notes) != 0 {
		t.Errorf("place = %+v, want %+v", got, want)
	}
	if read(t, want.Exe) != "warren v2" || read(t, want.DLL) != "wintun signed" {
		t.Error("copies differ from the originals")
	}
	if !slices.Equal(pf.prepared, []string{pf.Dir}) {
		t.Errorf("Prepare calls %q, want one for %s", pf.prepared, pf.Dir)
	}
	if len(pf.secured) != 2 {
		t.Errorf("Secure calls %q, want one a staged file", pf.secured)
	}
	noTempFiles(t, pf.Dir)

	// Again with the same files: nothing to copy.
	pf.replaced = nil
	got, err = pf.place(exe)
	if err != nil || len(got.Copied) != 0 || len(pf.replaced) != 0 {
		t.Errorf("second place = %+v, %v; replaced %q", got, err, pf.replaced)
	}
}

// A warren.exe that already runs from the program folder (the MSI put it
// there) is registered where it is, and the folder is not touched.
func TestPlaceUsesInstalledProgram(t *testing.T) {
	pf := newFakeProgramFiles(t)
	os.MkdirAll(pf.Dir, 0o755)
	write(t, filepath.Join(pf.Dir, "warren.exe"), "msi")
	write(t, filepath.Join(pf.Dir, "wintun.dll"), "dll")
	exe := filepath.Join(pf.Dir, ".", "warren.exe")
	got, err := pf.place(exe)
	if err != nil || got.Exe != exe || got.DLL != filepath.Join(pf.Dir, "wintun.dll") || len(got.Copied) != 0 {
		t.Errorf("place = %+v, %v", got, err)
	}
	if len(pf.prepared) != 0 || len(pf.replaced) != 0 {
		t.Errorf("touched the MSI's folder: prepared %q, replaced %q", pf.prepared, pf.replaced)
	}
	os.Remove(filepath.Join(pf.Dir, "wintun.dll"))
	if got, _ := pf.place(exe); len(got.Notes) != 1 || !strings.Contains(got.Notes[0], "https://www.wintun.net/") {
		t.Errorf("no wintun.dll: notes %q", got.Notes)
	}
}

func TestPlaceWithoutDLL(t *testing.T) {
	pf := newFakeProgramFiles(t)
	got, err := pf.place(download(t, "warren", ""))
	if err != nil || got.DLL != "" || len(got.Notes) != 1 || !strings.Contains(got.Notes[0], "wintun.dll") {
		t.Errorf("place = %+v, %v", got, err)
	}
	// A wintun.dll already installed is kept.
	write(t, filepath.Join(pf.Dir, "wintun.dll"), "installed")
	got, err = pf.place(download(t, "warren", ""))
	if err != nil || got.DLL != filepath.Join(pf.Dir, "wintun.dll") || len(got.Notes) != 1 || !strings.Contains(got.Notes[0], "already in") {
		t.Errorf("place = %+v, %v", got, err)
	}
}

// An installed warren.exe that differs and is in use is not replaced, and
// install says so; nothing changes.
func TestPlaceInUse(t *testing.T) {
	pf := newFakeProgramFiles(t)
	if _, err := pf.place(download(t, "warren v1", "dll v1")); err != nil {
		t.Fatal(err)
	}
	pf.failReplace = filepath.Join(pf.Dir, "warren.exe")
	_, err := pf.place(download(t, "warren v2", "dll v2"))
	if !errors.Is(err, ErrProgramInUse) || !strings.Contains(err.Error(), pf.failReplace) {
		t.Fatalf("place over a running program = %v, want ErrProgramInUse naming it", err)
	}
	if read(t, filepath.Join(pf.Dir, "warren.exe")) != "warren v1" || read(t, filepath.Join(pf.Dir, "wintun.dll")) != "dll v1" {
		t.Error("the installed files changed")
	}
	noTempFiles(t, pf.Dir)

	// The same program is no problem even while it runs: nothing to copy.
	if _, err := pf.place(download(t, "warren v1", "dll v1")); err != nil {
		t.Errorf("place of the same files over a running program: %v", err)
	}
}

// When warren.exe was replaced but wintun.dll cannot be, warren.exe is put
// back: all or nothing.
func TestPlaceRollsBack(t *testing.T) {
	pf := newFakeProgramFiles(t)
	if _, err := pf.place(download(t, "warren v1", "dll v1")); err != nil {
		t.Fatal(err)
	}
	pf.failReplace = filepath.Join(pf.Dir, "wintun.dll")
	if _, err := pf.place(download(t, "warren v2", "dll v2")); !errors.Is(err, ErrProgramInUse) {
		t.Fatalf("place = %v, want ErrProgramInUse", err)
	}
	if got := read(t, filepath.Join(pf.Dir, "warren.exe")); got != "warren v1" {
		t.Errorf("warren.exe holds %q after the rollback, want v1", got)
	}
	noTempFiles(t, pf.Dir)

	// A first install whose DLL fails leaves no warren.exe behind.
	pf2 := newFakeProgramFiles(t)
	pf2.failReplace = filepath.Join(pf2.Dir, "wintun.dll")
	if _, err := pf2.place(download(t, "warren", "dll")); !errors.Is(err, ErrProgramInUse) {
		t.Fatalf("place = %v", err)
	}
	if fileExists(filepath.Join(pf2.Dir, "warren.exe")) {
		t.Error("a half install left warren.exe")
	}
}

func TestSameContent(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	big := strings.Repeat("x", 200<<10)
	write(t, a, big+"1")
	write(t, b, big+"1")
	write(t, c, big+"2")
	for _, tt := range []struct {
		x, y string
		want bool
	}{{a, b, true}, {a, c, false}, {a, filepath.Join(dir, "none"), false}} {
		if got, err := sameContent(tt.x, tt.y); got != tt.want || err != nil {
			t.Errorf("sameContent(%s, %s) = %v, %v", tt.x, tt.y, got, err)
		}
	}
	write(t, c, "short")
	if got, _ := sameContent(a, c); got {
		t.Error("files of different sizes are the same")
	}
}
