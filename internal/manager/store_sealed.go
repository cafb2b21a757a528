package manager

import (
	"errors"
	"fmt"
	"os"

	"github.com/warren-vpn/warren/internal/winsvc"
)

// SealedStore keeps configurations in winsvc's store (Windows: DPAPI in
// SYSTEM's scope, in a folder only SYSTEM and the Administrators can
// read), the store `warren import` and the tunnel services use. A tunnel
// is its stored configuration and its service: deleting it removes both,
// as `warren service uninstall NAME` does.
type SealedStore struct {
	Files *winsvc.Store
	// Services, if set, loses a tunnel's service with its configuration.
	Services Services
}

var _ Store = (*SealedStore)(nil)

// storeErr maps winsvc's errors to the manager's.
func storeErr(name string, err error) error {
	switch {
	case errors.Is(err, winsvc.ErrNotFound):
		return fmt.Errorf("configuration %s: %w", name, ErrNotFound)
	case errors.Is(err, winsvc.ErrInvalidName):
		return fmt.Errorf("%w: %w", ErrBadName, err)
	}
	return err
}

// List implements Store: the stored tunnels whose names the manager
// accepts too, with their files' modification times and sizes.
func (s *SealedStore) List() ([]StoredConfig, error) {
	names, err := s.Files.List()
	if err != nil {
		return nil, err
	}
	var out []StoredConfig
	for _, name := range names {
		if ValidName(name) != nil {
			continue
		}
		fi, err := os.Lstat(s.Files.Path(name))
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, StoredConfig{Name: name, ModTime: fi.ModTime(), Size: fi.Size()})
	}
	return out, nil
}

// Read implements Store: the configuration, unsealed.
func (s *SealedStore) Read(name string) ([]byte, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	data, err := s.Files.Load(name)
	if err != nil {
		return nil, storeErr(name, err)
	}
	return data, nil
}

// Write implements Store: sealed, then renamed into place.
func (s *SealedStore) Write(name string, data []byte) error {
	if err := ValidName(name); err != nil {
		return err
	}
	return storeErr(name, s.Files.Save(name, data))
}

// Delete implements Store: the tunnel's service (stopped and removed),
// then its configuration.
func (s *SealedStore) Delete(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if s.Services != nil {
		if err := s.Services.Remove(name); err != nil {
			return fmt.Errorf("remove the service of %s: %w", name, err)
		}
	}
	return storeErr(name, s.Files.Delete(name))
}
