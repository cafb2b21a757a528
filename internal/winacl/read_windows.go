package winacl

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// ReadFileSecurity is the Reader of a file or folder on this machine: its
// owner and DACL (GetNamedSecurityInfo) in SDDL.
func ReadFileSecurity(path string) (string, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return "", err
	}
	return sd.String(), nil
}

// AccountName is DOMAIN\name for a SID string, or "" when it names no
// account here: the name CheckPath gives a principal.
func AccountName(sid string) string {
	s, err := windows.StringToSid(sid)
	if err != nil {
		return ""
	}
	account, domain, _, err := s.LookupAccount("")
	if err != nil || account == "" {
		return ""
	}
	if domain == "" {
		return account
	}
	return domain + `\` + account
}

// FinalPath is the path of the open file or folder h with every link on
// the way resolved, as Windows gives it (`\\?\C:\...`; StripExtendedPrefix
// makes it an ordinary drive path).
func FinalPath(h windows.Handle) (string, error) {
	buf := make([]uint16, windows.MAX_PATH)
	for {
		n, err := windows.GetFinalPathNameByHandle(h, &buf[0], uint32(len(buf)), 0)
		if err != nil {
			return "", fmt.Errorf("GetFinalPathNameByHandle: %w", err)
		}
		if n < uint32(len(buf)) {
			return windows.UTF16ToString(buf[:n]), nil
		}
		buf = make([]uint16, n+1)
	}
}
