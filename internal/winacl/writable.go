package winacl

import (
	"errors"
	"fmt"
	"strings"
)

// File access rights the decision looks at (winnt.h).
const (
	FileWriteData    = 0x0002 // FILE_WRITE_DATA, on a folder FILE_ADD_FILE
	FileAppendData   = 0x0004 // FILE_APPEND_DATA, on a folder FILE_ADD_SUBDIRECTORY
	FileDeleteChild  = 0x0040 // FILE_DELETE_CHILD
	Delete           = 0x00010000
	WriteDAC         = 0x00040000
	WriteOwner       = 0x00080000
	GenericAll       = 0x10000000
	GenericWrite     = 0x40000000
	GenericRead      = 0x80000000
	GenericExecute   = 0x20000000
	fileAllAccess    = 0x001F01FF
	fileGenericRead  = 0x00120089
	fileGenericWrite = 0x00120116
	fileGenericExec  = 0x001200A0
)

// Role is where an object stands on the path of the file being checked; it
// decides which rights are dangerous.
type Role int

const (
	// Target is the file itself: whoever may write, append to, delete,
	// re-permission or take it can replace its code.
	Target Role = iota
	// Folder is the folder that holds it: adding a file there plants a DLL
	// the program loads from its own folder, adding a folder plants a
	// PROGRAM.exe.local redirection, deleting a child swaps the file.
	Folder
	// Ancestor is any folder further up: deleting (renaming) it or a child
	// of it, or re-permissioning or taking it, swaps the whole subtree.
	// Adding files there is harmless (C:\ lets every user add folders).
	Ancestor
)

func (r Role) String() string {
	switch r {
	case Target:
		return "file"
	case Folder:
		return "folder"
	case Ancestor:
		return "parent folder"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Dangerous is the set of rights that let a holder change what runs from
// an object in role r.
func (r Role) Dangerous() uint32 {
	const always = Delete | WriteDAC | WriteOwner
	switch r {
	case Target:
		return always | FileWriteData | FileAppendData
	case Folder:
		return always | FileWriteData | FileAppendData | FileDeleteChild
	default:
		return always | FileDeleteChild
	}
}

// MapGeneric turns generic rights into the file rights they stand for.
func MapGeneric(mask uint32) uint32 {
	out := mask &^ (GenericAll | GenericWrite | GenericRead | GenericExecute)
	if mask&GenericAll != 0 {
		out |= fileAllAccess
	}
	if mask&GenericWrite != 0 {
		out |= fileGenericWrite
	}
	if mask&GenericRead != 0 {
		out |= fileGenericRead
	}
	if mask&GenericExecute != 0 {
		out |= fileGenericExec
	}
	return out
}

// Trusted reports the principals allowed to change what runs as SYSTEM:
// SYSTEM, the Administrators and TrustedInstaller.
func Trusted(sid string) bool {
	return sid == SIDSystem || sid == SIDAdministrators || sid == SIDTrustedInstaller
}

// Grant is a principal outside Trusted that can change an object.
type Grant struct {
	// SID is the principal (Everyone for a null DACL; "" for an owner the
	// descriptor does not name).
	SID string
	// Rights are the dangerous rights its ACEs allow (generic rights
	// mapped), 0 if only ownership makes it dangerous.
	Rights uint32
	// Owner: it owns the object, and an owner can always rewrite the DACL.
	Owner bool
	// NullDACL: the object has no DACL at all, which allows everything to
	// everyone.
	NullDACL bool
}

// Writers lists the principals outside Trusted that can change an object
// in role r, given its security descriptor (owner and DACL), in the order
// of the descriptor. It is conservative: deny ACEs are not counted on
// (an allow still counts), callback and object allow ACEs count as
// allows, and an owner that is missing from sd counts as untrusted.
// Inherit-only ACEs are skipped: they apply to children, not to the
// object.
func Writers(sd *SecurityDescriptor, r Role) []Grant {
	danger := r.Dangerous()
	var out []Grant
	index := map[string]int{}
	add := func(g Grant) {
		if i, ok := index[g.SID]; ok {
			out[i].Rights |= g.Rights
			out[i].Owner = out[i].Owner || g.Owner
			out[i].NullDACL = out[i].NullDACL || g.NullDACL
			return
		}
		index[g.SID] = len(out)
		out = append(out, g)
	}
	ownerTrusted := Trusted(sd.Owner)
	if !ownerTrusted {
		add(Grant{SID: sd.Owner, Owner: true})
	}
	if sd.DACL == nil || sd.DACL.Flags&NoAccessControl != 0 {
		add(Grant{SID: SIDEveryone, Rights: danger, NullDACL: true})
		return out
	}
	for _, ace := range sd.DACL.ACEs {
		switch ace.Type {
		case AccessAllowed, AccessAllowedObject, AccessAllowedCallback, AccessAllowedCbObject:
		default:
			continue
		}
		if ace.Flags&InheritOnly != 0 {
			continue
		}
		rights := MapGeneric(ace.Mask) & danger
		if rights == 0 || Trusted(ace.SID) {
			continue
		}
		// OWNER RIGHTS stands for whoever owns the object.
		if ace.SID == SIDOwnerRights && ownerTrusted {
			continue
		}
		add(Grant{SID: ace.SID, Rights: rights})
	}
	return out
}

// RightsText words a mask of rights that are dangerous in role r for a
// message: "full control" when it holds them all (WRITE_DAC alone lets
// its holder grant itself the rest).
func RightsText(mask uint32, r Role) string {
	if d := r.Dangerous(); mask&d == d {
		return "full control"
	}
	var words []string
	add := func(bit uint32, file, folder string) {
		if mask&bit == 0 {
			return
		}
		if r == Target {
			words = append(words, file)
		} else {
			words = append(words, folder)
		}
	}
	add(FileWriteData, "write", "add files")
	add(FileAppendData, "append", "add folders")
	add(FileDeleteChild, "delete children", "delete what it holds")
	add(Delete, "delete or rename", "delete or rename")
	add(WriteDAC, "change permissions", "change permissions")
	add(WriteOwner, "take ownership", "take ownership")
	return strings.Join(words, ", ")
}

// ErrWritable is matched (errors.Is) by every *WritableError.
var ErrWritable = errors.New("can be changed by a non-administrator")

// WritableError says which object on a path a non-administrator can
// change, who, and how.
type WritableError struct {
	// File is the file that was checked (the service's program, a DLL);
	// Path is the object on its path that failed, in role Role.
	File, Path string
	Role       Role
	Grant      Grant
	// Name is what the machine calls Grant.SID, when known.
	Name string
}

func (e *WritableError) Error() string {
	who := e.Name
	if who == "" {
		who = WellKnownName(e.Grant.SID)
	}
	if e.Grant.SID == "" {
		who = "an owner the descriptor does not name"
	} else if who != e.Grant.SID {
		who += " (" + e.Grant.SID + ")"
	}
	var how []string
	switch {
	case e.Grant.NullDACL:
		how = append(how, "may do anything (the object has no access control list)")
	case e.Grant.Owner:
		how = append(how, "owns it")
	}
	if e.Grant.Rights != 0 && !e.Grant.NullDACL {
		if text := RightsText(e.Grant.Rights, e.Role); text == "full control" {
			how = append(how, "has full control")
		} else {
			how = append(how, "may "+text)
		}
	}
	what := e.Path
	switch e.Role {
	case Folder:
		what = fmt.Sprintf("%s, the folder of %s,", e.Path, e.File)
	case Ancestor:
		what = fmt.Sprintf("%s, a parent folder of %s,", e.Path, e.File)
	}
	return fmt.Sprintf("%s %s: %s %s; they could replace %s and have their code run as SYSTEM",
		what, ErrWritable, who, strings.Join(how, " and "), baseName(e.File))
}

// Is makes errors.Is(err, ErrWritable) hold.
func (e *WritableError) Is(target error) bool { return target == ErrWritable }
