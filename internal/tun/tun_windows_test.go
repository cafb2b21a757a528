//go:build windows

package tun

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdapterGUID(t *testing.T) {
	a, b := AdapterGUID("wg0"), AdapterGUID("wg0")
	if a != b {
		t.Fatalf("AdapterGUID is not deterministic: %v, %v", a, b)
	}
	if AdapterGUID("wg1") == a {
		t.Fatal("two names give one GUID")
	}
	if v := a.Data3 >> 12; v != 5 {
		t.Errorf("version nibble %d, want 5", v)
	}
	if a.Data4[0]&0xc0 != 0x80 {
		t.Errorf("variant bits %#x, want 10xxxxxx", a.Data4[0])
	}
}

// TestMissingWintunDLL runs where no wintun.dll is installed (wine, CI):
// Create must say what is missing and where to get it.
func TestMissingWintunDLL(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(exe), "wintun.dll")); err == nil {
		t.Skip("wintun.dll is installed here")
	}
	_, err = Create("warren-test", 1420)
	if err == nil {
		t.Skip("Wintun is available on this machine")
	}
	if !errors.Is(err, ErrWintunMissing) {
		t.Skipf("wintun.dll found in System32; Create failed otherwise: %v", err)
	}
	for _, want := range []string{"wintun.dll", "https://www.wintun.net/", "beside warren.exe"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
