package conf

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// CheckPermissions returns wg-quick's warning when the configuration file
// at path can be reached by others — some permission bit for "others" set
// on both the file and its directory — and "" otherwise (or on Windows,
// where modes say nothing about access).
func CheckPermissions(path string) string {
	if runtime.GOOS == "windows" {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return ""
	}
	di, err := os.Stat(filepath.Dir(abs))
	if err != nil {
		return ""
	}
	if fi.Mode().Perm()&di.Mode().Perm()&0o007 == 0 {
		return ""
	}
	return fmt.Sprintf("Warning: `%s' is world accessible", abs)
}
