//go:build windows

package tun

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/windows"
)

// findWintunDLL checks that wintun.dll is where the loader will look for
// it (the executable's directory, then System32), so a missing DLL gets a
// clear error instead of a failed lazy load.
func findWintunDLL() error {
	var looked []string
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "wintun.dll")
		if _, err := os.Stat(p); err == nil {
			return nil
		}
		looked = append(looked, p)
	}
	if sys, err := windows.GetSystemDirectory(); err == nil {
		p := filepath.Join(sys, "wintun.dll")
		if _, err := os.Stat(p); err == nil {
			return nil
		}
		looked = append(looked, p)
	}
	return fmt.Errorf("%w (looked for %v): download Wintun from %s and put bin\\%s\\wintun.dll from its zip beside warren.exe",
		ErrWintunMissing, looked, wintunURL, runtime.GOARCH)
}
