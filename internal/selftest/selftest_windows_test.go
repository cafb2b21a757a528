package selftest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/warren-vpn/warren/internal/tun"
)

// haveWintun reports whether wintun.dll is where warren loads it from.
func haveWintun(t *testing.T) bool {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sys, err := windows.GetSystemDirectory()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(filepath.Dir(exe), "wintun.dll"), filepath.Join(sys, "wintun.dll")} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// TestSelftestWithoutWintun is what wine (and a Windows machine without
// wintun.dll) sees: the driver check fails naming wintun.dll and where it
// was looked for, nothing is created or attempted after it, and the exit
// status is 1.
func TestSelftestWithoutWintun(t *testing.T) {
	if haveWintun(t) {
		t.Skip("wintun.dll is present: TestSelftestOnWindows runs the whole selftest instead")
	}
	if !windows.GetCurrentProcessToken().IsElevated() {
		t.Skip("not elevated: the selftest refuses before it looks for wintun.dll")
	}
	rep := runLogged(context.Background(), t, Options{})
	if rep.OK() {
		t.Fatal("report says OK without wintun.dll")
	}
	c := rep.Check(chkDriver)
	if c == nil || c.Status != Fail || !errors.Is(c.Err, tun.ErrWintunMissing) || !strings.Contains(c.Detail, "wintun.dll") || !strings.Contains(c.Detail, "https://www.wintun.net/") {
		t.Fatalf("driver check: %+v, want a failure wrapping tun.ErrWintunMissing that says where to get wintun.dll", c)
	}
	for _, name := range []string{chkPeer, chkAdapter, chkHandshake, chkPing4, chkHTTP4} {
		if c := rep.Check(name); c == nil || c.Status != Skip || !errors.Is(c.Err, ErrNeeds) {
			t.Errorf("%s: %+v, want skipped for a failed prerequisite", name, c)
		}
	}
	if c := rep.Check(chkCleanup); c != nil {
		t.Errorf("nothing was created, yet the report has a cleanup: %+v", c)
	}
	if rep.Fact("wintun.dll") != "not found" {
		t.Errorf("fact wintun.dll = %q, want \"not found\"", rep.Fact("wintun.dll"))
	}

	var out, errOut bytes.Buffer
	if code := Main("warren selftest", nil, &out, &errOut); code != 1 {
		t.Errorf("Main: exit status %d, want 1\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "FAIL  "+chkDriver) || !strings.Contains(out.String(), "wintun.dll not found") {
		t.Errorf("Main's report does not show the driver failure:\n%s", out.String())
	}
}

// TestSelftestUntrustedWintun puts an unsigned PE file (a copy of the
// test binary) where wintun.dll belongs: the driver check must refuse it,
// saying the signature does not verify, and nothing after it runs.
func TestSelftestUntrustedWintun(t *testing.T) {
	if haveWintun(t) {
		t.Skip("a wintun.dll is already present")
	}
	if !windows.GetCurrentProcessToken().IsElevated() {
		t.Skip("not elevated: the selftest refuses before it looks for wintun.dll")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	dll := filepath.Join(filepath.Dir(exe), "wintun.dll")
	if err := os.WriteFile(dll, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dll) })
	rep := runLogged(context.Background(), t, Options{})
	c := rep.Check(chkDriver)
	if c == nil || c.Status != Fail || !errors.Is(c.Err, ErrWintunSignature) || !strings.Contains(c.Detail, dll) {
		t.Fatalf("driver check: %+v, want a failure wrapping ErrWintunSignature naming %s", c, dll)
	}
	if rep.OK() || rep.Check(chkCleanup) != nil {
		t.Errorf("OK=%v, cleanup %+v; want not OK and nothing created", rep.OK(), rep.Check(chkCleanup))
	}
	if f := rep.Fact("wintun.dll signature"); !strings.Contains(f, "does not verify") {
		t.Errorf("fact wintun.dll signature = %q", f)
	}
}

// TestSelftestOnWindows runs the whole selftest, kill switch included, on
// a Windows machine with wintun.dll beside the test binary, as
// Administrator. It cannot run under wine (no Wintun, no UDP).
func TestSelftestOnWindows(t *testing.T) {
	if !haveWintun(t) {
		t.Skip("needs wintun.dll beside the test binary or in System32 (real Windows)")
	}
	if !windows.GetCurrentProcessToken().IsElevated() {
		t.Skip("needs an elevated (Administrator) prompt")
	}
	rep := runLogged(context.Background(), t, Options{KillSwitch: true})
	if !rep.OK() {
		t.Fatal("the selftest failed")
	}
	for _, c := range rep.Checks {
		if c.Status != Pass {
			t.Errorf("%s: %v: %s", c.Name, c.Status, c.Detail)
		}
	}
}
