package winsvc

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// StoreSecurityDescriptor is the DACL of the store's directory: protected
// (nothing inherited from Program Files, where Users may read) and, inherited
// by every file and folder within, full control to SYSTEM and the
// Administrators and nothing to anyone else — not even Network
// Configuration Operators, who run tunnels but never read their keys.
const StoreSecurityDescriptor = "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// DefaultStoreDir is %ProgramFiles%\warren\Data\Configurations.
func DefaultStoreDir() (string, error) {
	dir, err := ProgramDir()
	if err != nil {
		return "", fmt.Errorf("configuration store: %w", err)
	}
	return filepath.Join(dir, "Data", "Configurations"), nil
}

// OpenStore creates dir if needed, refuses it if it is a link, sets
// StoreSecurityDescriptor on it explicitly (every time: a directory
// someone loosened is tightened again) and returns a Store over it sealed
// with DPAPI.
func OpenStore(dir string) (*Store, error) {
	return openStoreUnder(dir, dir)
}

// openStoreUnder is OpenStore, with every folder from root (an ancestor of
// dir) down to dir checked for links, before the DACL is set (which would
// follow one) and on every use.
func openStoreUnder(root, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("configuration store: %w", err)
	}
	st := &Store{Dir: dir, Root: root, Cipher: DPAPI{}}
	if err := st.checkDirs(); err != nil {
		return nil, err
	}
	if err := SecureDir(dir); err != nil {
		return nil, err
	}
	return st, nil
}

// isReparsePoint reports FILE_ATTRIBUTE_REPARSE_POINT in fi (from Lstat),
// whatever kind of reparse point Go's file mode makes of it.
func isReparsePoint(fi fs.FileInfo) bool {
	d, ok := fi.Sys().(*syscall.Win32FileAttributeData)
	return ok && d.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0
}

// isReparsePath is isReparsePoint, asking GetFileAttributes on path (which
// reports the link itself) too: wine's by-handle attributes, which Lstat
// reads, omit the flag that GetFileAttributes shows.
func isReparsePath(path string, fi fs.FileInfo) bool {
	if p16, err := windows.UTF16PtrFromString(path); err == nil {
		if a, err := windows.GetFileAttributes(p16); err == nil && a&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
			return true
		}
	}
	return isReparsePoint(fi)
}

// SecureDir gives dir StoreSecurityDescriptor's protected DACL.
func SecureDir(dir string) error {
	sd, err := windows.SecurityDescriptorFromString(StoreSecurityDescriptor)
	if err != nil {
		return fmt.Errorf("secure %s: %w", dir, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("secure %s: %w", dir, err)
	}
	err = windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("secure %s: set DACL: %w", dir, err)
	}
	return nil
}

// DPAPI seals with CryptProtectData in the scope of the SYSTEM account:
// only code running as SYSTEM (the tunnel services; administrators'
// commands, which act as SYSTEM for the call, see systemScope) can open
// the blobs. Machine scope, which an older warren used, lets any local
// process that can read a file decrypt it; such blobs still open, and
// Outdated tells the Store to seal them again. The tunnel's name is the
// blob's description and is checked on opening. The directory's DACL keeps
// other users from the files; DPAPI keeps the keys unreadable to whoever
// copies them elsewhere.
type DPAPI struct{}

// sealHeader starts every blob sealed in SYSTEM's scope. Older warren
// wrote bare machine-scope DPAPI blobs (which begin with DPAPI's version,
// 01 00 00 00, never with this).
const sealHeader = "warren-dpapi-system-v1\n"

// Seal encrypts plain for the SYSTEM account.
func (DPAPI) Seal(name string, plain []byte) ([]byte, error) {
	var sealed []byte
	err := systemScope(func() error {
		var err error
		sealed, err = protect(name, plain)
		return err
	})
	if err != nil {
		return nil, err
	}
	return append([]byte(sealHeader), sealed...), nil
}

// Open decrypts sealed (SYSTEM's scope, or an older warren's machine
// scope) and checks that it was sealed for name.
func (DPAPI) Open(name string, sealed []byte) ([]byte, error) {
	blob := bytes.TrimPrefix(sealed, []byte(sealHeader))
	var plain []byte
	var desc string
	err := systemScope(func() error {
		var err error
		plain, desc, err = unprotect(blob)
		return err
	})
	if err != nil {
		return nil, err
	}
	if desc != name {
		clear(plain)
		return nil, fmt.Errorf("sealed for tunnel %q, not %q (renamed file?)", desc, name)
	}
	return plain, nil
}

// Outdated reports a blob sealed in machine scope by an older warren.
func (DPAPI) Outdated(sealed []byte) bool { return !bytes.HasPrefix(sealed, []byte(sealHeader)) }

// protect is CryptProtectData in the caller's (thread's) user scope.
func protect(name string, plain []byte) ([]byte, error) {
	desc, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	in := blob(plain)
	var out windows.DataBlob
	if err := windows.CryptProtectData(&in, desc, nil, 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, fmt.Errorf("CryptProtectData: %w", err)
	}
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return append([]byte(nil), unsafe.Slice(out.Data, out.Size)...), nil
}

// unprotect is CryptUnprotectData; it returns the plain text and the
// blob's description.
func unprotect(sealed []byte) ([]byte, string, error) {
	in := blob(sealed)
	var out windows.DataBlob
	var desc *uint16
	if err := windows.CryptUnprotectData(&in, &desc, nil, 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, "", fmt.Errorf("CryptUnprotectData: %w", err)
	}
	if desc != nil {
		defer windows.LocalFree(windows.Handle(unsafe.Pointer(desc)))
	}
	out16 := unsafe.Slice(out.Data, out.Size)
	plain := append([]byte(nil), out16...)
	clear(out16)
	windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return plain, windows.UTF16PtrToString(desc), nil
}

// blob points a DataBlob at b; an empty b still gets a valid pointer, which
// some implementations require.
func blob(b []byte) windows.DataBlob {
	if len(b) == 0 {
		return windows.DataBlob{Data: new(byte)}
	}
	return windows.DataBlob{Size: uint32(len(b)), Data: &b[0]}
}
