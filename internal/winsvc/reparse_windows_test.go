package winsvc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// unixPath is where a path on wine's Z: drive (which maps /) is.
func unixPath(p string) string { return strings.ReplaceAll(strings.TrimPrefix(p, `Z:`), `\`, "/") }

// runUnix runs a Unix program under wine, which starts them (wine cannot
// make or remove a link itself: CreateSymbolicLink does nothing, mklink /J
// fails) but does not wait for them, and waits until done says its work
// is there.
func runUnix(t *testing.T, done func() bool, prog string, args ...string) bool {
	t.Helper()
	cmd := windows.StringToUTF16Ptr(`Z:` + strings.ReplaceAll(prog, "/", `\`) + " " + strings.Join(args, " "))
	var si windows.StartupInfo
	var pi windows.ProcessInformation
	if err := windows.CreateProcess(windows.StringToUTF16Ptr(`Z:`+strings.ReplaceAll(prog, "/", `\`)), cmd, nil, nil, false, 0, nil, nil, &si, &pi); err != nil {
		t.Logf("cannot run %s: %v", prog, err)
		return false
	}
	windows.CloseHandle(pi.Process)
	windows.CloseHandle(pi.Thread)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if done() {
			return true
		}
	}
	return false
}

// A store folder, or a folder between it and the program folder, that is
// a reparse point is refused before its DACL is set, even where Go's file
// mode shows a plain folder (wine's reparse points for Unix links).
func TestOpenStoreRefusesReparsePoint(t *testing.T) {
	if !onWine() {
		t.Skip("making a reparse point needs privileges on Windows; under wine a Unix link is one")
	}
	if _, err := os.Stat(`Z:\bin\ln`); err != nil {
		t.Skip("no Z: drive mapping /")
	}
	base, err := os.MkdirTemp(`Z:\tmp`, "warren-reparse-")
	if err != nil {
		t.Skip(err)
	}
	gone := func() bool { _, err := os.Lstat(base); return err != nil }
	defer runUnix(t, gone, "/bin/rm", "-rf", unixPath(base))
	target := filepath.Join(base, "elsewhere")
	if err := os.MkdirAll(filepath.Join(target, "Configurations"), 0o700); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "warren")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "Data")
	if !runUnix(t, func() bool { _, err := os.Lstat(link); return err == nil }, "/bin/ln", "-s", unixPath(target), unixPath(link)) {
		t.Skip("could not make a Unix link")
	}
	fi, err := os.Lstat(filepath.Join(root, "Data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wine shows the link as mode %v, reparse point (by path) %v", fi.Mode(), isReparsePath(filepath.Join(root, "Data"), fi))

	if _, err := openStoreUnder(root, filepath.Join(root, "Data", "Configurations")); !errors.Is(err, ErrReparsePoint) {
		t.Errorf("store under a reparse point = %v, want ErrReparsePoint", err)
	}
	if _, err := OpenStore(filepath.Join(root, "Data")); !errors.Is(err, ErrReparsePoint) {
		t.Errorf("store folder that is a reparse point = %v, want ErrReparsePoint", err)
	}
	if err := prepareProgramDir(filepath.Join(root, "Data")); !errors.Is(err, ErrReparsePoint) {
		t.Errorf("program folder that is a reparse point = %v, want ErrReparsePoint", err)
	}
}
