//go:build windows

package winsvc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/warren-vpn/warren/internal/winacl"
)

// PrivateDirSecurityDescriptor is what EnsurePrivateDir gives a folder it
// creates: owned by the Administrators, a protected DACL (nothing
// inherited from %ProgramData%, where every user may add folders and
// read) that gives SYSTEM and the Administrators full control of it and of
// everything created within, and nobody else anything.
const PrivateDirSecurityDescriptor = "O:BA" + StoreSecurityDescriptor

// EnsurePrivateDir makes dir a folder only SYSTEM and the Administrators
// can use, for state that must not be read or planted by anyone else (the
// manager's password hash, API tokens, setup link, history):
//   - dir and every folder above it must exist as plain folders, not
//     links, junctions or other reparse points (the parent is created if
//     missing, as an ordinary folder);
//   - a dir that does not exist is created with PrivateDirSecurityDescriptor
//     at once, so that there is no moment in which %ProgramData%'s
//     inherited permissions let a user add a file;
//   - a dir that exists must be SYSTEM's, the Administrators' or the
//     caller's, and nobody else may change it (checkPrivateChain): a
//     folder a user created first, or loosened, is refused, not adopted;
//   - then its DACL is set again (SecureDir), which takes away readers
//     someone may have added.
func EnsurePrivateDir(dir string) error {
	return ensurePrivateDir(dir, readFileSecurity)
}

// ensurePrivateDir is EnsurePrivateDir with the descriptors read by read
// (tests under wine, which makes the user own everything, replace it).
func ensurePrivateDir(dir string, read winacl.Reader) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("%s: not an absolute path", dir)
	}
	dir = filepath.Clean(dir)
	chain, err := winacl.Chain(dir)
	if err != nil {
		return err
	}
	// From the root down: no link on the way; a missing folder is made.
	for i := len(chain) - 1; i >= 1; i-- {
		if err := os.Mkdir(chain[i], 0o755); err != nil && !errors.Is(err, fs.ErrExist) && i < len(chain)-1 {
			return err
		}
		if err := checkPlainDir(chain[i]); err != nil {
			return err
		}
	}
	created, err := createPrivateDir(dir)
	if err != nil {
		return err
	}
	if err := checkPlainDir(dir); err != nil {
		return err
	}
	if !created {
		self, err := callerSID()
		if err != nil {
			return err
		}
		if err := checkPrivateChain(chain, read, self); err != nil {
			return err
		}
	}
	return SecureDir(dir)
}

// checkPlainDir refuses a path that is not a folder, or is a reparse point.
func checkPlainDir(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if isLink(p, fi) {
		return fmt.Errorf("%s %w", p, ErrReparsePoint)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", p)
	}
	return nil
}

// createPrivateDir creates dir with PrivateDirSecurityDescriptor; created
// is false if it existed. A caller that may not name the Administrators
// as owner gets the descriptor without the owner (it then owns the
// folder itself).
func createPrivateDir(dir string) (created bool, err error) {
	p16, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return false, err
	}
	for _, sddl := range []string{PrivateDirSecurityDescriptor, StoreSecurityDescriptor} {
		sd, err := windows.SecurityDescriptorFromString(sddl)
		if err != nil {
			return false, err
		}
		sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
		sa.Length = uint32(unsafe.Sizeof(*sa))
		err = windows.CreateDirectory(p16, sa)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, windows.ERROR_ALREADY_EXISTS) || errors.Is(err, fs.ErrExist):
			return false, nil
		case errors.Is(err, windows.ERROR_INVALID_OWNER):
			continue
		}
		return false, fmt.Errorf("create %s: %w", dir, err)
	}
	return false, fmt.Errorf("create %s: %w", dir, windows.ERROR_INVALID_OWNER)
}

// callerSID is the SID of the account this process runs as.
func callerSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("who am I: %w", err)
	}
	return u.User.Sid.String(), nil
}
