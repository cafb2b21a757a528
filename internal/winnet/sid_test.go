package winnet

import (
	"errors"
	"testing"
)

// TestServiceSID checks the service SID derivation against SIDs Windows
// reports (`sc showsid NAME`, whoami /groups, ACLs of system objects).
func TestServiceSID(t *testing.T) {
	for _, tc := range []struct{ name, sid string }{
		{"TrustedInstaller", "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"},
		{"trustedinstaller", "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"}, // case-insensitive
		{"EventLog", "S-1-5-80-880578595-1860270145-482643319-2788375705-1540778122"},
		{"MSSQLSERVER", "S-1-5-80-3880718306-3832830129-1677859214-2598158968-1052248003"},
		{"WinDefend", "S-1-5-80-1913148863-3492339771-4165695881-2087618961-4109116736"},
	} {
		if got := ServiceSID(tc.name); got != tc.sid {
			t.Errorf("ServiceSID(%q) = %s, want %s", tc.name, got, tc.sid)
		}
	}
	if ServiceSID("WarrenTunnel$a") == ServiceSID("WarrenTunnel$b") {
		t.Error("two services share a SID")
	}
	if err := checkSID(ServiceSID("WarrenTunnel$ä-ü")); err != nil {
		t.Errorf("a service SID fails the SID check: %v", err)
	}
}

func TestCheckSID(t *testing.T) {
	for _, s := range []string{"S-1-5-18", "S-1-5-32-544", "S-1-5-21-1004336348-1177238915-682003330-1001", "S-1-281474976710655-4294967295",
		"S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15"} {
		if err := checkSID(s); err != nil {
			t.Errorf("checkSID(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "S-1-5", "S-2-5-18", "s-1-5-18", "SY", "S-1-5-18-", "S-1-5--18", "S-1-5-4294967296", "S-1-281474976710656-1",
		"S-1-5-+18", "S-1-5- 18", "S-1-0x5-18", "S-1-5-18)(A;;GA;;;WD", "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16"} {
		if err := checkSID(s); !errors.Is(err, ErrSID) {
			t.Errorf("checkSID(%q) = %v, want ErrSID", s, err)
		}
	}
}

func TestOwnerSDDL(t *testing.T) {
	// FWP_ACTRL_MATCH_FILTER (0x1) granted to the SID, nothing else.
	if got, want := ownerSDDL("S-1-5-80-1-2-3-4-5"), "D:(A;;0x1;;;S-1-5-80-1-2-3-4-5)"; got != want {
		t.Errorf("ownerSDDL = %q, want %q", got, want)
	}
}
