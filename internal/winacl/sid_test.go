package winacl

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
)

// TestTrustedInstallerSID: SIDTrustedInstaller is NT SERVICE\TrustedInstaller
// as Windows writes it, S-1-5-80 and SECURITY_TRUSTED_INSTALLER_RID1..5 of
// winnt.h, which is the service SID of "TrustedInstaller": the five
// little-endian words of the SHA-1 of the upper-cased name in UTF-16LE
// (RtlCreateServiceSid). Program Files, System32 and C:\ are owned by it;
// a wrong value makes every real install path look writable by a
// stranger.
func TestTrustedInstallerSID(t *testing.T) {
	const fromWinnt = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
	if SIDTrustedInstaller != fromWinnt {
		t.Errorf("SIDTrustedInstaller = %s, want %s (winnt.h's SECURITY_TRUSTED_INSTALLER_RID1..5)", SIDTrustedInstaller, fromWinnt)
	}
	units := utf16.Encode([]rune(strings.ToUpper("TrustedInstaller")))
	buf := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(buf[2*i:], u)
	}
	sum := sha1.Sum(buf)
	derived := "S-1-5-80"
	for i := 0; i < len(sum); i += 4 {
		derived += fmt.Sprintf("-%d", binary.LittleEndian.Uint32(sum[i:]))
	}
	if derived != fromWinnt {
		t.Fatalf("service SID of TrustedInstaller derived as %s, want %s: the test's derivation is wrong", derived, fromWinnt)
	}
	if !Trusted(fromWinnt) {
		t.Errorf("Trusted(%s) = false", fromWinnt)
	}
	// C:\Program Files as Windows 10 and 11 report it, owned by
	// TrustedInstaller, above the program.
	programFiles := "O:" + fromWinnt + "G:" + fromWinnt +
		"D:PAI(A;;FA;;;" + fromWinnt + ")(A;CIIO;GA;;;" + fromWinnt + ")" +
		"(A;;0x1301bf;;;SY)(A;OICIIO;GA;;;SY)(A;;0x1301bf;;;BA)(A;OICIIO;GA;;;BA)(A;;0x1200a9;;;BU)(A;OICIIO;GXGR;;;BU)(A;OICIIO;GA;;;CO)" +
		"(A;;0x1200a9;;;AC)(A;OICIIO;GXGR;;;AC)(A;;0x1200a9;;;S-1-15-2-2)(A;OICIIO;GXGR;;;S-1-15-2-2)"
	sd, err := Parse(programFiles)
	if err != nil {
		t.Fatal(err)
	}
	if ws := Writers(sd, Ancestor); len(ws) != 0 {
		t.Errorf("C:\\Program Files counts as changeable by %+v", ws)
	}
}
