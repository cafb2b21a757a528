package winsvc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"

	"github.com/warren-vpn/warren/internal/winacl"
)

// programDirName is the folder under %ProgramFiles% that holds warren.exe,
// wintun.dll and Data.
const programDirName = "warren"

// ProgramSecurityDescriptor is the program folder's owner and DACL:
// protected (nothing inherited), full control to SYSTEM and the
// Administrators, read and execute to Users (so that `warren genkey` runs
// from PATH); nobody else may write, delete or re-permission anything in
// it. Data\Configurations within has its own, stricter DACL.
const ProgramSecurityDescriptor = "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"

// ProgramDir is %ProgramFiles%\warren: warren.exe and wintun.dll of the
// tunnel services, and their Data.
func ProgramDir() (string, error) {
	pf, err := windows.KnownFolderPath(windows.FOLDERID_ProgramFiles, windows.KF_FLAG_DEFAULT)
	if err != nil || pf == "" {
		pf = os.Getenv("ProgramFiles")
	}
	if pf == "" {
		return "", fmt.Errorf("cannot find Program Files: %v", err)
	}
	return filepath.Join(pf, programDirName), nil
}

// newProgramFiles is programFiles over the real program folder.
func newProgramFiles() (programFiles, error) {
	dir, err := ProgramDir()
	if err != nil {
		return programFiles{}, err
	}
	return programFiles{Dir: dir, Prepare: prepareProgramDir, Secure: ownByAdministrators, Replace: os.Rename}, nil
}

// prepareProgramDir creates dir, refuses it if it is a link, and gives it
// ProgramSecurityDescriptor.
func prepareProgramDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if isLink(dir, fi) {
		return fmt.Errorf("%s %w", dir, ErrReparsePoint)
	}
	sd, err := windows.SecurityDescriptorFromString(ProgramSecurityDescriptor)
	if err != nil {
		return err
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	err = windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION,
		owner, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("set owner and DACL: %w", err)
	}
	return nil
}

// ownByAdministrators makes the Administrators the owner of path: a file
// owned by an administrator's own account could have its DACL rewritten
// by any program that account runs unelevated.
func ownByAdministrators(path string) error {
	ba, err := windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid)
	if err != nil {
		return err
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION, ba, nil, nil, nil); err != nil {
		return fmt.Errorf("set owner of %s: %w", path, err)
	}
	return nil
}

// fileSecurity reads the security descriptors checkProgramFile judges;
// tests under wine, whose descriptors make the user own every file,
// replace it.
var fileSecurity winacl.Reader = readFileSecurity

// readFileSecurity reads a file's or folder's owner and DACL.
func readFileSecurity(path string) (string, error) { return winacl.ReadFileSecurity(path) }

// checkProgramFile refuses a program or DLL for a service when it, its
// folder or any folder above can be changed by someone other than SYSTEM,
// Administrators and TrustedInstaller (winacl.CheckPath), at the path
// given and, if links lead elsewhere, at its final path.
func checkProgramFile(path string) error {
	paths := []string{path}
	if final, err := finalPathOf(path); err != nil {
		return err
	} else if !strings.EqualFold(final, path) {
		paths = append(paths, final)
	}
	for _, p := range paths {
		if err := winacl.CheckPath(p, fileSecurity, winacl.AccountName); err != nil {
			return err
		}
	}
	return nil
}

// finalPathOf is path with links resolved (without `\\?\` for a drive).
func finalPathOf(path string) (string, error) {
	p16, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return "", err
	}
	h, err := windows.CreateFile(p16, 0, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", path, err)
	}
	defer windows.CloseHandle(h)
	final, err := winacl.FinalPath(h)
	if err != nil {
		return "", fmt.Errorf("final path of %s: %w", path, err)
	}
	return winacl.StripExtendedPrefix(final), nil
}

// unsafeProgramAdvice says what to do about a refused program or DLL.
func unsafeProgramAdvice(err error) string {
	if errors.Is(err, winacl.ErrWritable) {
		return `; a tunnel service runs as SYSTEM, so its program and wintun.dll must be where only administrators can change them: tighten that folder's permissions, or reinstall with the MSI into %ProgramFiles%\warren`
	}
	return ""
}
