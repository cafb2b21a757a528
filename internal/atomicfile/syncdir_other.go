//go:build !unix

package atomicfile

// SyncDir does nothing where directories cannot be synced (Windows: a
// rename through MoveFileEx is written through by NTFS's journal).
func SyncDir(dir string) error { return nil }
