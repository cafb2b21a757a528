package winsvc

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/ringlog"
)

// The log folder admits SYSTEM and the Administrators only, and the log
// file inherits that. Wine keeps no file DACLs: checked on Windows only.
func TestTunnelLogFolderIsSecured(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "warren", "Data", "Logs")
	l, err := openLogIn(dir, "wg0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Write(LogTagService, "hello"); err != nil {
		t.Fatal(err)
	}
	if onWine() {
		t.Skip("wine does not keep file DACLs; the log folder's DACL is checked on Windows only")
	}
	want := []string{"S-1-5-18", "S-1-5-32-544"}
	sids, protected := daclEntries(t, dir)
	if !slices.Equal(slices.Compact(sids), want) || !protected {
		t.Errorf("log folder DACL admits %q (protected %v), want only SYSTEM and Administrators", sids, protected)
	}
	if sids, _ := daclEntries(t, filepath.Join(dir, "wg0"+LogExt)); !slices.Equal(slices.Compact(sids), want) {
		t.Errorf("log file DACL admits %q", sids)
	}
}

// `warren log` through Main, on the real log folder in Program Files:
// only under wine, whose prefix is thrown away.
func TestLogCommand(t *testing.T) {
	if !onWine() {
		t.Skip("writes to %ProgramFiles%\\warren: runs under wine only")
	}
	const name = "winetest-log"
	path, err := TunnelLogPath(name)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	var stdout, stderr bytes.Buffer
	if code := Main("warren", []string{"log", "-n", name}, Options{}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "has no log") {
		t.Errorf("log of a tunnel that never ran: exit %d, stderr %q", code, stderr.String())
	}

	l, err := OpenTunnelLog(name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Write(LogTagService, "tunnel winetest-log is up")
	l.Printf(LogTagTunnel)("PostUp: %q", "a b")
	stderr.Reset()
	if code := Main("warren", []string{"log", "--no-follow", name}, Options{}, &stdout, &stderr); code != 0 {
		t.Fatalf("log -n: exit %d, stderr %q", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], ": [SVC] tunnel winetest-log is up") || !strings.HasSuffix(lines[1], `: [TUN] PostUp: "a b"`) {
		t.Errorf("log -n printed %q", stdout.String())
	}

	// Following, as Main does it but with a context the test ends (Main
	// ends on Ctrl-C).
	ctx, cancel := context.WithCancel(t.Context())
	var buf logBuffer
	done := make(chan error)
	go func() { done <- showLogAt(ctx, path, Command{Op: OpLog, Tunnel: name}, &buf) }()
	waitForOutput(t, &buf, "PostUp")
	l.Write(LogTagWarning, "default route: pinning failed")
	waitForOutput(t, &buf, "[WARN] default route: pinning failed")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("following ended with %v", err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Errorf("followed %d lines, want 3: %q", n, buf.String())
	}

	// The service's and another writer's lines share the file safely.
	l2, err := OpenTunnelLog(name)
	if err != nil {
		t.Fatal(err)
	}
	l2.Write(LogTagError, "from a second writer")
	l2.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	all, err := ringlog.Parse(data)
	if err != nil || len(all) != 4 || all[3].Text != "from a second writer" {
		t.Errorf("log holds %d lines (%v)", len(all), err)
	}
}

// A log folder or log file that is a link is refused, not followed.
func TestTunnelLogRefusesLinks(t *testing.T) {
	base := t.TempDir()
	elsewhere := filepath.Join(base, "elsewhere")
	if err := os.MkdirAll(elsewhere, 0o700); err != nil {
		t.Fatal(err)
	}
	linked := filepath.Join(base, "Logs")
	symlinkOrSkip(t, elsewhere, linked)
	if _, err := openLogIn(linked, "wg0"); !errors.Is(err, ErrReparsePoint) {
		t.Errorf("log folder that is a link: %v, want ErrReparsePoint", err)
	}
	dir := filepath.Join(base, "Logs2")
	os.MkdirAll(dir, 0o700)
	symlinkOrSkip(t, filepath.Join(elsewhere, "precious"), filepath.Join(dir, "wg0"+LogExt))
	if _, err := openLogIn(dir, "wg0"); !errors.Is(err, ringlog.ErrNotRegular) {
		t.Errorf("log file that is a link: %v, want ringlog.ErrNotRegular", err)
	}
}
