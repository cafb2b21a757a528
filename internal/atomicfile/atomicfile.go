package atomicfile

import (
	"os"
	"path/filepath"
)

// WriteFile replaces path with data. The data goes to a new temporary file
// in path's directory, created exclusively under a random name
// (O_CREAT|O_EXCL: a planted file or symlink of any name is never written
// through) with mode 0600, then chmodded to perm, synced, renamed over
// path, and the directory is synced so that the rename survives a crash.
// On failure path is unchanged and the temporary file is gone.
func WriteFile(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}
