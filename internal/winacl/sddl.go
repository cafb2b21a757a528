package winacl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("malformed SDDL")

// ACE types, as SDDL names them (the value is the Windows ACE type).
const (
	AccessAllowed         = 0x00 // A
	AccessDenied          = 0x01 // D
	SystemAudit           = 0x02 // AU
	SystemAlarm           = 0x03 // AL
	AccessAllowedObject   = 0x05 // OA
	AccessDeniedObject    = 0x06 // OD
	SystemAuditObject     = 0x07 // OU
	SystemAlarmObject     = 0x08 // OL
	AccessAllowedCallback = 0x09 // XA
	AccessDeniedCallback  = 0x0A // XD
	AccessAllowedCbObject = 0x0B // ZA
	SystemAuditCallback   = 0x0D // XU
	SystemMandatoryLabel  = 0x11 // ML
	SystemResourceAttr    = 0x12 // RA
	SystemScopedPolicy    = 0x13 // SP
	SystemProcessTrust    = 0x14 // TL
	SystemAccessFilter    = 0x15 // FL
)

var aceTypes = map[string]uint8{
	"A": AccessAllowed, "D": AccessDenied, "AU": SystemAudit, "AL": SystemAlarm,
	"OA": AccessAllowedObject, "OD": AccessDeniedObject, "OU": SystemAuditObject, "OL": SystemAlarmObject,
	"XA": AccessAllowedCallback, "XD": AccessDeniedCallback, "ZA": AccessAllowedCbObject,
	"XU": SystemAuditCallback, "ML": SystemMandatoryLabel, "RA": SystemResourceAttr,
	"SP": SystemScopedPolicy, "TL": SystemProcessTrust, "FL": SystemAccessFilter,
}

// ACE flags.
const (
	ObjectInherit    = 0x01 // OI
	ContainerInherit = 0x02 // CI
	NoPropagate      = 0x04 // NP
	InheritOnly      = 0x08 // IO: the ACE is only handed down; it does not apply to this object
	Inherited        = 0x10 // ID
	Critical         = 0x20 // CR
	SuccessfulAccess = 0x40 // SA (TP on an access filter ACE)
	FailedAccess     = 0x80 // FA
)

// aceFlagLetters is in the order Windows writes them.
var aceFlagLetters = []struct {
	s   string
	bit uint8
}{
	{"OI", ObjectInherit}, {"CI", ContainerInherit}, {"NP", NoPropagate}, {"IO", InheritOnly},
	{"ID", Inherited}, {"CR", Critical}, {"SA", SuccessfulAccess}, {"FA", FailedAccess},
	{"TP", SuccessfulAccess},
}

// Access rights, as SDDL abbreviates them.
var rightLetters = map[string]uint32{
	"GA": 0x10000000, "GR": 0x80000000, "GW": 0x40000000, "GX": 0x20000000,
	"RC": 0x00020000, "SD": 0x00010000, "WD": 0x00040000, "WO": 0x00080000,
	"RP": 0x10, "WP": 0x20, "CC": 0x01, "DC": 0x02, "LC": 0x04, "SW": 0x08,
	"LO": 0x80, "DT": 0x40, "CR": 0x100,
	"FA": 0x001F01FF, "FR": 0x00120089, "FW": 0x00120116, "FX": 0x001200A0,
	"KA": 0x000F003F, "KR": 0x00020019, "KW": 0x00020006, "KX": 0x00020019,
	"NR": 0x02, "NW": 0x01, "NX": 0x04,
}

// DACL and SACL control flags.
const (
	Protected       = 1 << iota // P
	AutoInheritReq              // AR
	AutoInherited               // AI
	NoAccessControl             // NO_ACCESS_CONTROL: a null ACL (for a DACL: everyone may do anything)
)

// ACE is one access control entry.
type ACE struct {
	Type  uint8
	Flags uint8
	// Mask is the rights as written: generic rights (GA, GW, ...) are not
	// mapped to a kind of object here.
	Mask uint32
	// ObjectType and InheritedObjectType are the object ACEs' GUIDs, as
	// written (empty for other ACEs).
	ObjectType, InheritedObjectType string
	// SID is whom the ACE is about: a SID string ("S-1-5-18") for every
	// alias that names one everywhere, or the two-letter alias of a
	// domain- or machine-relative group (DA, LA, ...), which only the
	// machine can resolve.
	SID string
	// Extra is a callback ACE's condition or a resource attribute, raw.
	Extra string
}

// ACL is a DACL or SACL.
type ACL struct {
	// Flags are Protected, AutoInheritReq, AutoInherited, NoAccessControl.
	Flags int
	ACEs  []ACE
}

// SecurityDescriptor is what Parse understands of one. A nil ACL is a part
// the string did not have (for a DACL read from Windows: the caller did not
// ask for it, since a null DACL is written D:NO_ACCESS_CONTROL).
type SecurityDescriptor struct {
	Owner, Group string // SID strings or relative aliases; "" when absent
	DACL, SACL   *ACL
}

// Parse parses a security descriptor in SDDL: "O:owner", "G:group",
// "D:flags(ace)(ace)..." and "S:flags(ace)...", each at most once, in any
// order. An ACE is "(type;flags;rights;object_guid;inherit_object_guid;sid)"
// with an optional seventh field (a callback ACE's condition or a resource
// attribute); rights are letters (FA, GW, ...) or a number (0x1301bf); a
// SID is written out or as one of the two-letter aliases.
func Parse(s string) (*SecurityDescriptor, error) {
	p := &parser{s: s}
	sd, err := p.descriptor()
	if err != nil {
		return nil, fmt.Errorf("%w: %w (at offset %d of %q)", ErrSyntax, err, p.pos, clip(s))
	}
	return sd, nil
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

type parser struct {
	s   string
	pos int
}

func (p *parser) descriptor() (*SecurityDescriptor, error) {
	sd := &SecurityDescriptor{}
	seen := map[byte]bool{}
	for p.pos < len(p.s) {
		if p.pos+2 > len(p.s) || p.s[p.pos+1] != ':' {
			return nil, errors.New("expected a part: O, G, D or S and a colon")
		}
		part := p.s[p.pos]
		if seen[part] {
			return nil, fmt.Errorf("%c: appears twice", part)
		}
		seen[part] = true
		p.pos += 2
		var err error
		switch part {
		case 'O':
			sd.Owner, err = p.sidUntilPart()
		case 'G':
			sd.Group, err = p.sidUntilPart()
		case 'D':
			sd.DACL, err = p.acl()
		case 'S':
			sd.SACL, err = p.acl()
		default:
			return nil, fmt.Errorf("unknown part %q", part)
		}
		if err != nil {
			return nil, err
		}
	}
	return sd, nil
}

// sidUntilPart reads an owner or group SID, which runs to the next part.
func (p *parser) sidUntilPart() (string, error) {
	end := len(p.s)
	for i := p.pos; i+1 < len(p.s); i++ {
		if p.s[i+1] == ':' && strings.IndexByte("OGDS", p.s[i]) >= 0 {
			end = i
			break
		}
	}
	sid, err := ParseSID(p.s[p.pos:end])
	if err != nil {
		return "", err
	}
	p.pos = end
	return sid, nil
}

func (p *parser) acl() (*ACL, error) {
	acl := &ACL{}
	for p.pos < len(p.s) && p.s[p.pos] != '(' {
		switch {
		case strings.HasPrefix(p.s[p.pos:], "NO_ACCESS_CONTROL"):
			acl.Flags |= NoAccessControl
			p.pos += len("NO_ACCESS_CONTROL")
		case strings.HasPrefix(p.s[p.pos:], "AI"):
			acl.Flags |= AutoInherited
			p.pos += 2
		case strings.HasPrefix(p.s[p.pos:], "AR"):
			acl.Flags |= AutoInheritReq
			p.pos += 2
		case p.s[p.pos] == 'P':
			acl.Flags |= Protected
			p.pos++
		default:
			if p.pos+1 < len(p.s) && p.s[p.pos+1] == ':' {
				return acl, nil // the next part
			}
			return nil, fmt.Errorf("unknown ACL flag at %q", clip(p.s[p.pos:]))
		}
	}
	for p.pos < len(p.s) && p.s[p.pos] == '(' {
		end, err := closing(p.s, p.pos)
		if err != nil {
			return nil, err
		}
		ace, err := parseACE(p.s[p.pos+1 : end])
		if err != nil {
			return nil, err
		}
		acl.ACEs = append(acl.ACEs, ace)
		p.pos = end + 1
	}
	if acl.Flags&NoAccessControl != 0 && len(acl.ACEs) > 0 {
		return nil, errors.New("NO_ACCESS_CONTROL with entries")
	}
	return acl, nil
}

// closing finds the parenthesis that closes the one at s[open], skipping
// nested parentheses and double-quoted strings (conditions, attributes).
func closing(s string, open int) (int, error) {
	depth, quoted := 0, false
	for i := open; i < len(s); i++ {
		switch c := s[i]; {
		case quoted:
			if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, errors.New("unclosed ACE")
}

func parseACE(s string) (ACE, error) {
	f := strings.SplitN(s, ";", 7)
	if len(f) < 6 {
		return ACE{}, fmt.Errorf("ACE (%s) has %d fields, want 6 or 7", s, len(f))
	}
	for _, field := range f[:6] {
		if strings.ContainsAny(field, "()\"") {
			return ACE{}, fmt.Errorf("ACE (%s): stray character in %q", s, field)
		}
	}
	var ace ACE
	t, ok := aceTypes[f[0]]
	if !ok {
		return ACE{}, fmt.Errorf("unknown ACE type %q", f[0])
	}
	ace.Type = t
	for rest := f[1]; rest != ""; {
		found := false
		for _, fl := range aceFlagLetters {
			if strings.HasPrefix(rest, fl.s) {
				ace.Flags |= fl.bit
				rest, found = rest[len(fl.s):], true
				break
			}
		}
		if !found {
			return ACE{}, fmt.Errorf("unknown ACE flag at %q", rest)
		}
	}
	mask, err := parseRights(f[2])
	if err != nil {
		return ACE{}, err
	}
	ace.Mask = mask
	for i, g := range []string{f[3], f[4]} {
		if g != "" && !isGUID(g) {
			return ACE{}, fmt.Errorf("ACE (%s): %q is not a GUID", s, g)
		}
		if i == 0 {
			ace.ObjectType = strings.ToLower(g)
		} else {
			ace.InheritedObjectType = strings.ToLower(g)
		}
	}
	if ace.SID, err = ParseSID(f[5]); err != nil {
		return ACE{}, err
	}
	if len(f) == 7 {
		if f[6] == "" {
			return ACE{}, fmt.Errorf("ACE (%s): empty seventh field", s)
		}
		ace.Extra = f[6]
	}
	return ace, nil
}

func parseRights(s string) (uint32, error) {
	if s == "" {
		return 0, nil
	}
	if s[0] >= '0' && s[0] <= '9' {
		v, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			return 0, fmt.Errorf("access mask %q: %w", s, err)
		}
		return uint32(v), nil
	}
	if len(s)%2 != 0 {
		return 0, fmt.Errorf("access rights %q: not two-letter codes", s)
	}
	var mask uint32
	for i := 0; i < len(s); i += 2 {
		r, ok := rightLetters[s[i:i+2]]
		if !ok {
			return 0, fmt.Errorf("unknown access right %q", s[i:i+2])
		}
		mask |= r
	}
	return mask, nil
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// String writes sd back in SDDL: rights as hexadecimal masks, SIDs written
// out. Parse(sd.String()) gives sd again.
func (sd *SecurityDescriptor) String() string {
	var b strings.Builder
	if sd.Owner != "" {
		b.WriteString("O:" + sd.Owner)
	}
	if sd.Group != "" {
		b.WriteString("G:" + sd.Group)
	}
	for _, part := range []struct {
		tag string
		acl *ACL
	}{{"D:", sd.DACL}, {"S:", sd.SACL}} {
		if part.acl == nil {
			continue
		}
		b.WriteString(part.tag)
		if part.acl.Flags&Protected != 0 {
			b.WriteString("P")
		}
		if part.acl.Flags&AutoInheritReq != 0 {
			b.WriteString("AR")
		}
		if part.acl.Flags&AutoInherited != 0 {
			b.WriteString("AI")
		}
		if part.acl.Flags&NoAccessControl != 0 {
			b.WriteString("NO_ACCESS_CONTROL")
		}
		for _, ace := range part.acl.ACEs {
			b.WriteString("(" + ace.String() + ")")
		}
	}
	return b.String()
}

// String writes the ACE's fields, without the parentheses.
func (ace ACE) String() string {
	typ := fmt.Sprintf("0x%x", ace.Type)
	for k, v := range aceTypes {
		if v == ace.Type {
			typ = k
		}
	}
	var flags strings.Builder
	for _, fl := range aceFlagLetters[:8] {
		if ace.Flags&fl.bit != 0 {
			flags.WriteString(fl.s)
		}
	}
	s := fmt.Sprintf("%s;%s;0x%x;%s;%s;%s", typ, flags.String(), ace.Mask, ace.ObjectType, ace.InheritedObjectType, ace.SID)
	if ace.Extra != "" {
		s += ";" + ace.Extra
	}
	return s
}
