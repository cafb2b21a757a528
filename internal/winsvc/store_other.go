//go:build !windows

package winsvc

import "io/fs"

// isReparsePath: elsewhere than Windows, the file mode says it all
// (isLink checks it).
func isReparsePath(string, fs.FileInfo) bool { return false }
