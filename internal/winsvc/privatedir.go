package winsvc

import (
	"errors"
	"fmt"

	"github.com/warren-vpn/warren/internal/winacl"
)

// ErrUnsafeDir: a private folder (the manager's state) that someone other
// than SYSTEM, the Administrators and the caller could have changed, so
// that what is in it (a password hash, a setup link) cannot be trusted.
var ErrUnsafeDir = errors.New("not private to the administrators")

// checkPrivateChain judges a folder that exists already: chain is the
// folder followed by every folder above it (winacl.Chain), read gives
// their descriptors, self is the SID of the account the caller runs as.
// The folder must be changeable (add, delete or re-permission files, be
// owned) by SYSTEM, the Administrators, TrustedInstaller or self alone;
// the folders above it must not let anyone else delete, rename or
// re-permission what they hold. Who may read is not judged here: the
// caller then sets the DACL, which takes readers away.
func checkPrivateChain(chain []string, read winacl.Reader, self string) error {
	for i, p := range chain {
		role := winacl.Ancestor
		if i == 0 {
			role = winacl.Folder
		}
		text, err := read(p)
		if err != nil {
			return fmt.Errorf("read the permissions of %s: %w", p, err)
		}
		sd, err := winacl.Parse(text)
		if err != nil {
			return fmt.Errorf("permissions of %s: %w", p, err)
		}
		for _, g := range winacl.Writers(sd, role) {
			if g.SID == self && self != "" {
				continue
			}
			if i == 0 {
				return fmt.Errorf("%s is %w: %s %s; remove the folder (it holds only the manager's own state) or give it back to SYSTEM and the Administrators alone",
					p, ErrUnsafeDir, grantWho(g), grantHow(g, role))
			}
			return fmt.Errorf("%s is %w: in %s, a folder above it, %s %s, and could swap the folder",
				chain[0], ErrUnsafeDir, p, grantWho(g), grantHow(g, role))
		}
	}
	return nil
}

func grantWho(g winacl.Grant) string {
	if g.SID == "" {
		return "an owner the descriptor does not name"
	}
	if n := winacl.WellKnownName(g.SID); n != g.SID {
		return n + " (" + g.SID + ")"
	}
	return g.SID
}

func grantHow(g winacl.Grant, r winacl.Role) string {
	switch {
	case g.NullDACL:
		return "may do anything (it has no access control list)"
	case g.Owner && g.Rights == 0:
		return "owns it"
	case g.Owner:
		return "owns it and may " + winacl.RightsText(g.Rights, r)
	}
	return "may " + winacl.RightsText(g.Rights, r)
}
