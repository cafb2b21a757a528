//go:build !windows

package winsvc

import "io/fs"

// isReparsePoint: elsewhere than Windows, the file mode says it all
// (isLink checks it).
func isReparsePoint(fs.FileInfo) bool { return false }
