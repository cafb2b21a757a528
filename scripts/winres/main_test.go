package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestSysoAndMachine writes warren's resource objects and reads their
// machine type back; -dll refuses a file that is not a DLL, as it must
// refuse a wintun.dll that is something else.
func TestSysoAndMachine(t *testing.T) {
	dir := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		obj := filepath.Join(dir, "rsrc_windows_"+arch+".syso")
		if err := run([]string{"syso", "-arch", arch, "-version", "0.1.0+20261126075300", "-o", obj}, &bytes.Buffer{}); err != nil {
			t.Fatalf("syso %s: %v", arch, err)
		}
		var out bytes.Buffer
		if err := run([]string{"machine", obj}, &out); err != nil || strings.TrimSpace(out.String()) != arch {
			t.Errorf("machine of the %s object: %q, %v", arch, out.String(), err)
		}
		if err := run([]string{"machine", "-dll", obj}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "not a DLL") {
			t.Errorf("machine -dll of an object: %v, want not a DLL", err)
		}
	}
	for _, args := range [][]string{
		nil,
		{"syso", "-arch", "386", "-version", "0.1.0", "-o", filepath.Join(dir, "x")},
		{"syso", "-arch", "amd64", "-version", "dev", "-o", filepath.Join(dir, "x")},
		{"check", "-arch", "amd64", "-version", "0.1.0", filepath.Join(dir, "missing.exe")},
	} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("winres %q succeeded", args)
		}
	}
}
