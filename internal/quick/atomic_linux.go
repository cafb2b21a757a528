package quick

import (
	"os"

	"github.com/warren-vpn/warren/internal/atomicfile"
)

// writeFileAtomic replaces path with data through a new temporary file
// (see atomicfile.WriteFile): a reader, or a crash, sees the old file or
// the new one, never a mix, and no planted link is written through.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return atomicfile.WriteFile(path, data, perm)
}

// syncDir flushes a directory's entries (a rename in it) to disk.
func syncDir(dir string) error { return atomicfile.SyncDir(dir) }
