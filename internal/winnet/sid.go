package winnet

import (
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
)

// ErrSID is wrapped by errors about a malformed security identifier.
var ErrSID = errors.New("invalid security identifier")

// ServiceSID returns the SID of the Windows service named name, the
// identity NT SERVICE\name that the service manager adds to the service's
// process token when the service's SID type is unrestricted: S-1-5-80
// followed by the five 32-bit little-endian words of the SHA-1 of the
// upper-cased name in UTF-16LE (what RtlCreateServiceSid and `sc showsid`
// compute). Windows upper-cases with its own table; for the names warren
// uses (ASCII) it agrees with unicode.ToUpper.
func ServiceSID(name string) string {
	upper := []rune(name)
	for i, r := range upper {
		upper[i] = unicode.ToUpper(r)
	}
	units := utf16.Encode(upper)
	buf := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(buf[2*i:], u)
	}
	sum := sha1.Sum(buf)
	var b strings.Builder
	b.WriteString("S-1-5-80")
	for i := 0; i < len(sum); i += 4 {
		fmt.Fprintf(&b, "-%d", binary.LittleEndian.Uint32(sum[i:]))
	}
	return b.String()
}

// maxSubAuthorities is SID_MAX_SUB_AUTHORITIES (winnt.h).
const maxSubAuthorities = 15

// checkSID reports whether s is a SID in its string form, S-1-A-S1-...-Sn
// (revision 1, an identifier authority below 2^48, one to fifteen 32-bit
// sub-authorities, all decimal). It refuses the hexadecimal authority form
// and SDDL aliases ("SY", "BA") that ConvertStringSidToSid also takes: an
// owner given to the plan needs neither, and the check keeps anything but
// digits and dashes out of the SDDL that ownerSDDL builds.
func checkSID(s string) error {
	parts := strings.Split(s, "-")
	if len(parts) < 4 || parts[0] != "S" || parts[1] != "1" {
		return fmt.Errorf("%w %q: want S-1-<authority>-<sub-authorities>", ErrSID, s)
	}
	if len(parts)-3 > maxSubAuthorities {
		return fmt.Errorf("%w %q: more than %d sub-authorities", ErrSID, s, maxSubAuthorities)
	}
	for i, p := range parts[2:] {
		bits := 32
		if i == 0 {
			bits = 48 // the identifier authority
		}
		if p == "" || strings.TrimLeft(p, "0123456789") != "" {
			return fmt.Errorf("%w %q: %q is not a decimal number", ErrSID, s, p)
		}
		if _, err := strconv.ParseUint(p, 10, bits); err != nil {
			return fmt.Errorf("%w %q: %q does not fit in %d bits", ErrSID, s, p, bits)
		}
	}
	return nil
}

// ownerSDDL is the security descriptor, in SDDL, that a permit's
// FWPM_CONDITION_ALE_USER_ID condition is matched against: a DACL granting
// FWP_ACTRL_MATCH_FILTER (0x1) to sid, so that only connections whose
// process token holds sid (as its user or an enabled group) match.
func ownerSDDL(sid string) string {
	return "D:(A;;0x1;;;" + sid + ")"
}
