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

// ErrNotFound: no stored configuration of that name.
var ErrNotFound = errors.New("no stored configuration")

// Store keeps tunnel configurations sealed by Cipher in Dir, one file a
// tunnel. It does not create or secure Dir (OpenStore does, on Windows).
type Store struct {
	Dir    string
	Cipher Cipher
}

// Path is where tunnel name's configuration is kept.
func (s *Store) Path(name string) string { return filepath.Join(s.Dir, name+StoreExt) }

// Save seals and stores plain as tunnel name's configuration, replacing an
// older one whole: it is written to a temporary file in Dir and renamed.
func (s *Store) Save(name string, plain []byte) error {
	if err := ValidTunnelName(name); err != nil {
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
// an error matching ErrNotFound and fs.ErrNotExist.
func (s *Store) Load(name string) ([]byte, error) {
	if err := ValidTunnelName(name); err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	sealed, err := os.ReadFile(s.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load %s: %w: %w", name, ErrNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	plain, err := s.Cipher.Open(name, sealed)
	if err != nil {
		return nil, fmt.Errorf("load %s: unseal %s: %w", name, s.Path(name), err)
	}
	return plain, nil
}

// Delete removes tunnel name's configuration; a missing one matches
// ErrNotFound.
func (s *Store) Delete(name string) error {
	if err := ValidTunnelName(name); err != nil {
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
// a valid name (temporary files among them) are skipped.
func (s *Store) List() ([]string, error) {
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
