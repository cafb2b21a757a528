package winacl

import (
	"fmt"
	"strconv"
	"strings"
)

// Well-known SIDs the decision needs.
const (
	SIDSystem           = "S-1-5-18"
	SIDAdministrators   = "S-1-5-32-544"
	SIDTrustedInstaller = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
	SIDEveryone         = "S-1-1-0"
	SIDCreatorOwner     = "S-1-3-0"
	SIDOwnerRights      = "S-1-3-4"
)

// sidAliases are SDDL's two-letter names of SIDs that are the same on every
// machine.
var sidAliases = map[string]string{
	"AN": "S-1-5-7", "AO": "S-1-5-32-548", "AU": "S-1-5-11", "BA": SIDAdministrators,
	"BG": "S-1-5-32-546", "BO": "S-1-5-32-551", "BU": "S-1-5-32-545", "CD": "S-1-5-32-574",
	"CG": "S-1-3-1", "CO": SIDCreatorOwner, "CY": "S-1-5-32-569", "ED": "S-1-5-9",
	"ER": "S-1-5-32-573", "HI": "S-1-16-12288", "IS": "S-1-5-32-568", "IU": "S-1-5-4",
	"LS": "S-1-5-19", "LU": "S-1-5-32-559", "LW": "S-1-16-4096", "ME": "S-1-16-8192",
	"MP": "S-1-16-8448", "MU": "S-1-5-32-558", "NO": "S-1-5-32-556", "NS": "S-1-5-20",
	"NU": "S-1-5-2", "OW": SIDOwnerRights, "PO": "S-1-5-32-550", "PS": "S-1-5-10",
	"PU": "S-1-5-32-547", "RA": "S-1-5-32-575", "RC": "S-1-5-12", "RD": "S-1-5-32-555",
	"RE": "S-1-5-32-552", "RM": "S-1-5-32-580", "RU": "S-1-5-32-554", "SI": "S-1-16-16384",
	"SO": "S-1-5-32-549", "SS": "S-1-18-2", "SU": "S-1-5-6", "SY": SIDSystem,
	"WD": SIDEveryone, "WR": "S-1-5-33", "AC": "S-1-15-2-1", "AA": "S-1-5-32-579",
	"AS": "S-1-18-1", "HA": "S-1-5-32-578",
}

// relativeAliases name groups of a domain or of this machine, whose SIDs
// only the machine knows (Domain Admins, the local Administrator, ...).
var relativeAliases = map[string]bool{
	"CA": true, "CN": true, "DA": true, "DC": true, "DD": true, "DG": true, "DU": true,
	"EA": true, "LA": true, "LG": true, "PA": true, "RO": true, "RS": true, "SA": true,
	"AP": true, "KA": true, "EK": true, "UD": true,
}

// wellKnownNames are what Windows calls the SIDs a message may name.
var wellKnownNames = map[string]string{
	SIDEveryone: "Everyone", "S-1-5-11": "Authenticated Users", "S-1-5-32-545": "Users",
	"S-1-5-4": "INTERACTIVE", "S-1-5-7": "ANONYMOUS LOGON", "S-1-5-32-546": "Guests",
	SIDCreatorOwner: "CREATOR OWNER", SIDOwnerRights: "OWNER RIGHTS", "S-1-5-32-547": "Power Users",
	"S-1-5-32-556": "Network Configuration Operators", "S-1-5-19": "LOCAL SERVICE",
	"S-1-5-20": "NETWORK SERVICE", "S-1-15-2-1": "ALL APPLICATION PACKAGES",
	"S-1-15-2-2": "ALL RESTRICTED APPLICATION PACKAGES", "S-1-5-32-551": "Backup Operators",
	SIDSystem: "SYSTEM", SIDAdministrators: "Administrators", SIDTrustedInstaller: "TrustedInstaller",
	"S-1-5-32-568": "IIS_IUSRS", "S-1-5-6": "SERVICE", "S-1-5-2": "NETWORK",
}

// WellKnownName is what Windows calls sid, or sid itself.
func WellKnownName(sid string) string {
	if n, ok := wellKnownNames[sid]; ok {
		return n
	}
	return sid
}

// ParseSID parses a SID string ("S-1-5-32-544") or an SDDL alias ("BA")
// and returns the SID string, canonical (decimal, upper-case S), or the
// alias of a domain- or machine-relative group.
func ParseSID(s string) (string, error) {
	if sid, ok := sidAliases[s]; ok {
		return sid, nil
	}
	if relativeAliases[s] {
		return s, nil
	}
	if !strings.HasPrefix(s, "S-") && !strings.HasPrefix(s, "s-") {
		return "", fmt.Errorf("unknown SID or alias %q", s)
	}
	parts := strings.Split(s[2:], "-")
	if len(parts) < 2 || len(parts) > 2+15 {
		return "", fmt.Errorf("SID %q: want a revision, an authority and up to 15 sub-authorities", s)
	}
	if parts[0] != "1" {
		return "", fmt.Errorf("SID %q: revision %q, want 1", s, parts[0])
	}
	var auth uint64
	var err error
	if strings.HasPrefix(parts[1], "0x") || strings.HasPrefix(parts[1], "0X") {
		auth, err = strconv.ParseUint(parts[1][2:], 16, 48)
	} else {
		auth, err = strconv.ParseUint(parts[1], 10, 48)
	}
	if err != nil || !digits(strings.TrimPrefix(strings.TrimPrefix(parts[1], "0x"), "0X")) {
		return "", fmt.Errorf("SID %q: bad identifier authority %q", s, parts[1])
	}
	var b strings.Builder
	b.WriteString("S-1-")
	if auth >= 1<<32 {
		fmt.Fprintf(&b, "0x%012X", auth)
	} else {
		b.WriteString(strconv.FormatUint(auth, 10))
	}
	for _, sub := range parts[2:] {
		v, err := strconv.ParseUint(sub, 10, 32)
		if err != nil || !digits(sub) {
			return "", fmt.Errorf("SID %q: bad sub-authority %q", s, sub)
		}
		b.WriteString("-" + strconv.FormatUint(v, 10))
	}
	return b.String(), nil
}

// digits reports a non-empty string of hexadecimal digits (ParseUint also
// takes underscores in some bases; SIDs have none).
func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
