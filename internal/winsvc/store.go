package winsvc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// StoreExt ends every stored configuration's file name: tunnel wg0 is kept
// in DIR\wg0.conf.dpapi.
const StoreExt = ".conf.dpapi"

// Cipher seals configurations at rest. On Windows it is DPAPI; tests
// elsewhere use a stand-in. Name is bound into the sealed blob, so that a
// file renamed to another tunnel's name fails to open.
type Cipher interface {
	Seal(name string, plain []byte) ([]byte, error)
	Open(name string, sealed []byte) ([]byte, error)
}

// Resealer is a Cipher that can tell a blob sealed the way an older warren
// sealed it; Load seals such a configuration again the current way.
type Resealer interface {
	Outdated(sealed []byte) bool
}

// ErrNotFound: no stored configuration of that name.
var ErrNotFound = errors.New("no stored configuration")

// ErrReparsePoint: a stored file, the store's folder or a folder between
// it and Root is a symbolic link, junction, mount point or other reparse
// point, which could send reads and writes of keys somewhere else.
var ErrReparsePoint = errors.New("is a link (symbolic link, junction or other reparse point); refusing to follow it")

// Store keeps tunnel configurations sealed by Cipher in Dir, one file a
// tunnel. It does not create or secure Dir (OpenStore does, on Windows).
// Every operation first checks that Dir, and each folder from Root (when
// set, an ancestor of Dir) down to Dir, is a plain folder, and Load that
// the stored file is a plain file: none may be a link.
type Store struct {
	Dir    string
	Root   string
	Cipher Cipher
}

// checkDirs refuses a Store whose folders, from Root down to Dir, are not
// all plain folders.
func (s *Store) checkDirs() error {
	dirs := []string{s.Dir}
	if s.Root != "" && s.Root != s.Dir {
		rel, err := filepath.Rel(s.Root, s.Dir)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("configuration store %s is not under %s", s.Dir, s.Root)
		}
		dirs = []string{s.Root}
		p := s.Root
		for _, c := range strings.Split(rel, string(filepath.Separator)) {
			p = filepath.Join(p, c)
			dirs = append(dirs, p)
		}
	}
	for _, d := range dirs {
		fi, err := os.Lstat(d)
		if err != nil {
			return fmt.Errorf("configuration store: %w", err)
		}
		if isLink(d, fi) {
			return fmt.Errorf("configuration store: %s %w", d, ErrReparsePoint)
		}
		if !fi.IsDir() {
			return fmt.Errorf("configuration store: %s is not a folder", d)
		}
	}
	return nil
}

// isLink reports whether path, whose Lstat is fi, is a symbolic link, a
// junction or mount point, or (on Windows, see isReparsePoint) any other
// reparse point.
func isLink(path string, fi fs.FileInfo) bool {
	return fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 || isReparsePath(path, fi)
}

// Path is where tunnel name's configuration is kept.
func (s *Store) Path(name string) string { return filepath.Join(s.Dir, name+StoreExt) }

// Save seals and stores plain as tunnel name's configuration, replacing an
// older one whole: it is written to a temporary file in Dir and renamed.
func (s *Store) Save(name string, plain []byte) error {
	if err := ValidTunnelName(name); err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	if err := s.checkDirs(); err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	sealed, err := s.Cipher.Seal(name, plain)
	if err != nil {
		return fmt.Errorf("store %s: seal: %w", name, err)
	}
	tmp, err := os.CreateTemp(s.Dir, "."+name+"-*.tmp")
	if err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(sealed); err != nil {
		tmp.Close()
		return fmt.Errorf("store %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), s.Path(name)); err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	return nil
}

// Load returns tunnel name's configuration, unsealed. A missing one gives
// an error matching ErrNotFound and fs.ErrNotExist; a link in its place,
// ErrReparsePoint. A configuration the Cipher (a Resealer) finds sealed
// the old way is sealed again the current way, if it can be; either way
// it is returned.
func (s *Store) Load(name string) ([]byte, error) {
	if err := ValidTunnelName(name); err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	if err := s.checkDirs(); err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	fi, err := os.Lstat(s.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load %s: %w: %w", name, ErrNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	if isLink(s.Path(name), fi) {
		return nil, fmt.Errorf("load %s: %s %w", name, s.Path(name), ErrReparsePoint)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("load %s: %s is not a file", name, s.Path(name))
	}
	sealed, err := os.ReadFile(s.Path(name))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	plain, err := s.Cipher.Open(name, sealed)
	if err != nil {
		return nil, fmt.Errorf("load %s: unseal %s: %w", name, s.Path(name), err)
	}
	if r, ok := s.Cipher.(Resealer); ok && r.Outdated(sealed) {
		s.Save(name, plain) // best effort: it opens either way
	}
	return plain, nil
}

// Delete removes tunnel name's configuration; a missing one matches
// ErrNotFound.
func (s *Store) Delete(name string) error {
	if err := ValidTunnelName(name); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	if err := s.checkDirs(); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	err := os.Remove(s.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w: %w", name, ErrNotFound, err)
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// List returns the stored tunnels' names, sorted; files that do not carry
// a valid name (temporary files among them) and links are skipped. A store
// whose folder does not exist is empty.
func (s *Store) List() ([]string, error) {
	if _, err := os.Lstat(s.Dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err := s.checkDirs(); err != nil {
		return nil, fmt.Errorf("list stored configurations: %w", err)
	}
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list stored configurations: %w", err)
	}
	var names []string
	for _, ent := range ents {
		name, ok := strings.CutSuffix(ent.Name(), StoreExt)
		if ok && ent.Type().IsRegular() && ValidTunnelName(name) == nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}
