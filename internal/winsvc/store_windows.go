package winsvc

import (
	"fmt"
	"os"
	"path/filepath"
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
	pf, err := windows.KnownFolderPath(windows.FOLDERID_ProgramFiles, windows.KF_FLAG_DEFAULT)
	if err != nil || pf == "" {
		pf = os.Getenv("ProgramFiles")
	}
	if pf == "" {
		return "", fmt.Errorf("configuration store: cannot find Program Files: %v", err)
	}
	return filepath.Join(pf, "warren", "Data", "Configurations"), nil
}

// OpenStore creates dir if needed, sets StoreSecurityDescriptor on it
// explicitly (every time: a directory someone loosened is tightened again)
// and returns a Store over it sealed with DPAPI.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("configuration store: %w", err)
	}
	if err := SecureDir(dir); err != nil {
		return nil, err
	}
	return &Store{Dir: dir, Cipher: DPAPI{}}, nil
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

// DPAPI seals with CryptProtectData in the machine's scope, so that the
// service (SYSTEM) opens what an administrator imported. The tunnel's name
// is the blob's description and is checked on opening. The directory's DACL
// is what keeps other users out; DPAPI keeps the keys unreadable to
// whoever copies the files elsewhere.
type DPAPI struct{}

// Seal encrypts plain for this machine.
func (DPAPI) Seal(name string, plain []byte) ([]byte, error) {
	desc, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	in := blob(plain)
	var out windows.DataBlob
	if err := windows.CryptProtectData(&in, desc, nil, 0, nil,
		windows.CRYPTPROTECT_LOCAL_MACHINE|windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, fmt.Errorf("CryptProtectData: %w", err)
	}
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return append([]byte(nil), unsafe.Slice(out.Data, out.Size)...), nil
}

// Open decrypts sealed and checks that it was sealed for name.
func (DPAPI) Open(name string, sealed []byte) ([]byte, error) {
	in := blob(sealed)
	var out windows.DataBlob
	var desc *uint16
	if err := windows.CryptUnprotectData(&in, &desc, nil, 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, fmt.Errorf("CryptUnprotectData: %w", err)
	}
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	if desc != nil {
		defer windows.LocalFree(windows.Handle(unsafe.Pointer(desc)))
	}
	plain := append([]byte(nil), unsafe.Slice(out.Data, out.Size)...)
	if got := windows.UTF16PtrToString(desc); got != name {
		clear(plain)
		return nil, fmt.Errorf("sealed for tunnel %q, not %q (renamed file?)", got, name)
	}
	return plain, nil
}

// blob points a DataBlob at b; an empty b still gets a valid pointer, which
// some implementations require.
func blob(b []byte) windows.DataBlob {
	if len(b) == 0 {
		return windows.DataBlob{Data: new(byte)}
	}
	return windows.DataBlob{Size: uint32(len(b)), Data: &b[0]}
}
