//go:build windows

package tun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/windows"
)

// findWintunDLL finds wintun.dll where the wintun package's
// LoadLibraryEx(LOAD_LIBRARY_SEARCH_APPLICATION_DIR|SYSTEM32) would take it
// from (beside warren.exe, else System32) and loads it only if it is safe:
// in a place no non-administrator can change, intact, and signed by
// wintunSigner (see loadTrustedDLL). The wintun package's own load then gets
// this module. If wintun.dll is already loaded, that module's file is
// checked the same way. A missing DLL gets ErrWintunMissing; a refused one
// says why and where the real one comes from.
func findWintunDLL() error {
	var loaded windows.Handle
	if err := windows.GetModuleHandleEx(windows.GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
		windows.StringToUTF16Ptr("wintun.dll"), &loaded); err == nil {
		path, err := moduleFile(loaded)
		if err != nil {
			return fmt.Errorf("wintun.dll is already loaded, from a place warren cannot read: %w", err)
		}
		return trustWintun(path)
	}
	var looked []string
	if exe, err := os.Executable(); err == nil {
		looked = append(looked, filepath.Join(filepath.Dir(exe), "wintun.dll"))
	}
	if sys, err := windows.GetSystemDirectory(); err == nil {
		looked = append(looked, filepath.Join(sys, "wintun.dll"))
	}
	for _, p := range looked {
		if _, err := os.Stat(p); err == nil {
			return trustWintun(p)
		}
	}
	return fmt.Errorf("%w (looked for %v): download Wintun from %s and put bin\\%s\\wintun.dll from its zip beside warren.exe",
		ErrWintunMissing, looked, wintunURL, runtime.GOARCH)
}

// trustWintun loads the wintun.dll at path if loadTrustedDLL accepts it,
// and otherwise says what was wrong and what to do.
func trustWintun(path string) error {
	_, err := loadTrustedDLL(path, wintunSigner, readFileSecurity)
	if err == nil {
		return nil
	}
	advice := fmt.Sprintf("use the official wintun.dll: download Wintun from %s and take bin\\%s\\wintun.dll from its zip", wintunURL, runtime.GOARCH)
	if errors.Is(err, ErrWintunWritable) {
		advice += `; keep it and warren.exe in %ProgramFiles%\warren (warren service install copies them there), where only administrators can change them`
	} else {
		advice += " and put it beside warren.exe"
	}
	return fmt.Errorf("refusing %s: %w; %s", path, err, advice)
}

// moduleFile is the file a loaded module was mapped from.
func moduleFile(m windows.Handle) (string, error) {
	buf := make([]uint16, windows.MAX_PATH)
	for {
		n, err := windows.GetModuleFileName(m, &buf[0], uint32(len(buf)))
		if err != nil {
			return "", err
		}
		if n < uint32(len(buf)) {
			return windows.UTF16ToString(buf[:n]), nil
		}
		buf = make([]uint16, 2*len(buf))
	}
}
