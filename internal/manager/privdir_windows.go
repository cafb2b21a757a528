package manager

import "github.com/warren-vpn/warren/internal/winsvc"

// ensurePrivateDir creates dir for SYSTEM and the Administrators only (a
// protected DACL from the start), or checks the one there: no link, and
// nobody else may have changed it (winsvc.EnsurePrivateDir).
func ensurePrivateDir(dir string) error { return winsvc.EnsurePrivateDir(dir) }
