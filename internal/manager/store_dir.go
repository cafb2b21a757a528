//go:build unix

package manager

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/warren-vpn/warren/internal/atomicfile"
	"github.com/warren-vpn/warren/internal/safedir"
)

// DirStore keeps configurations as NAME.conf files in one directory, as
// wg-quick does in /etc/wireguard.
type DirStore struct {
	dir string
}

// NewDirStore uses dir, creating it (0700) if needed; a directory others
// could write to, or not the caller's, is refused (safedir.Ensure): a
// planted configuration's hooks would run as root.
func NewDirStore(dir string) (*DirStore, error) {
	if err := safedir.Ensure(dir, 0o700); err != nil {
		return nil, fmt.Errorf("configuration directory: %w", err)
	}
	return &DirStore{dir: dir}, nil
}

// Dir is the directory the store uses.
func (s *DirStore) Dir() string { return s.dir }

// Path is where the configuration of name is (or would be).
func (s *DirStore) Path(name string) string { return filepath.Join(s.dir, name+".conf") }

// List implements Store: regular files (or links to them) named NAME.conf
// with a valid NAME.
func (s *DirStore) List() ([]StoredConfig, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list configurations: %w", err)
	}
	var out []StoredConfig
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".conf")
		if !ok || ValidName(name) != nil {
			continue
		}
		fi, err := os.Stat(filepath.Join(s.dir, e.Name()))
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, StoredConfig{Name: name, ModTime: fi.ModTime(), Size: fi.Size()})
	}
	slices.SortFunc(out, func(a, b StoredConfig) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Read implements Store. Like wg-quick, it follows a link named NAME.conf.
func (s *DirStore) Read(name string) ([]byte, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(s.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("configuration %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read configuration %s: %w", name, err)
	}
	return data, nil
}

// Write implements Store with atomicfile (mode 0600); a link named
// NAME.conf is replaced by the file.
func (s *DirStore) Write(name string, data []byte) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.Path(name), data, 0o600); err != nil {
		return fmt.Errorf("write configuration %s: %w", name, err)
	}
	return nil
}

// Delete implements Store.
func (s *DirStore) Delete(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	err := os.Remove(s.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("configuration %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete configuration %s: %w", name, err)
	}
	return atomicfile.SyncDir(s.dir)
}
