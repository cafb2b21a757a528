package manager

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

var procNetUserGetLocalGroups = windows.NewLazySystemDLL("netapi32.dll").NewProc("NetUserGetLocalGroups")

// maxPreferredLength (MAX_PREFERRED_LENGTH, -1) lets NetUserGetLocalGroups
// allocate what it needs.
const maxPreferredLength = ^uintptr(0)

// lgIncludeIndirect asks NetUserGetLocalGroups for the groups an account
// is in through other (domain) groups too.
const lgIncludeIndirect = 1

// windowsOperatorGroups lists the SIDs of the local groups a Windows user
// account is in, directly or not. The account must exist as a user.
func windowsOperatorGroups(account string) ([]string, error) {
	_, _, kind, err := windows.LookupSID("", account)
	if err != nil {
		return nil, fmt.Errorf("no Windows account named %s: %w", account, err)
	}
	if kind != windows.SidTypeUser {
		return nil, fmt.Errorf("%s is not a user account", account)
	}
	u16, err := windows.UTF16PtrFromString(account)
	if err != nil {
		return nil, err
	}
	var buf *byte
	var read, total uint32
	r, _, _ := procNetUserGetLocalGroups.Call(0, uintptr(unsafe.Pointer(u16)), 0, lgIncludeIndirect,
		uintptr(unsafe.Pointer(&buf)), maxPreferredLength, uintptr(unsafe.Pointer(&read)), uintptr(unsafe.Pointer(&total)))
	if r != 0 {
		return nil, fmt.Errorf("NetUserGetLocalGroups: %w", windows.Errno(r))
	}
	if buf == nil {
		return nil, nil
	}
	defer windows.NetApiBufferFree(buf)
	var sids []string
	// LOCALGROUP_USERS_INFO_0: one LPWSTR, the group's name.
	for _, name := range unsafe.Slice((**uint16)(unsafe.Pointer(buf)), read) {
		sid, _, _, err := windows.LookupSID("", windows.UTF16PtrToString(name))
		if err == nil {
			sids = append(sids, sid.String())
		}
	}
	return sids, nil
}
