package uapi

import (
	"regexp"
	"strings"
	"testing"
)

// TestPipeSecurityDescriptorSDDL pins the SDDL of the pipes in WireGuard's
// namespace to wireguard-go's (wg.exe refuses a pipe not owned by
// LocalSystem), and checks what each part grants.
func TestPipeSecurityDescriptorSDDL(t *testing.T) {
	const want = "O:SYD:P(A;;GA;;;SY)(A;;GA;;;BA)S:(ML;;NWNRNX;;;HI)"
	if PipeSecurityDescriptor != want {
		t.Fatalf("PipeSecurityDescriptor = %q, want %q", PipeSecurityDescriptor, want)
	}
	sd := parseSDDL(t, PipeSecurityDescriptor)
	if sd.owner != "SY" {
		t.Errorf("owner %q, want SY (LocalSystem): wg.exe checks it", sd.owner)
	}
	if sd.daclFlags != "P" {
		t.Errorf("DACL flags %q, want P (protected: nothing inherited)", sd.daclFlags)
	}
	if got := strings.Join(sd.dacl, " "); got != "A;;GA;;;SY A;;GA;;;BA" {
		t.Errorf("DACL %q, want full access for SYSTEM and Administrators only", got)
	}
	if got := strings.Join(sd.sacl, " "); got != "ML;;NWNRNX;;;HI" {
		t.Errorf("SACL %q, want only a high mandatory label, no write/read/execute up", got)
	}

	private := parseSDDL(t, PrivatePipeSecurityDescriptor)
	if private.owner != "" || len(private.sacl) != 0 {
		t.Errorf("private namespaces' SDDL %q sets an owner or label; the creator owns those pipes", PrivatePipeSecurityDescriptor)
	}
	if private.daclFlags != sd.daclFlags || strings.Join(private.dacl, " ") != strings.Join(sd.dacl, " ") {
		t.Errorf("private namespaces' DACL %q differs from WireGuard's %q", PrivatePipeSecurityDescriptor, PipeSecurityDescriptor)
	}
}

type sddlParts struct {
	owner, daclFlags string
	dacl, sacl       []string
}

var sddlPart = regexp.MustCompile(`^(?:O:([A-Z]{2}|S-[0-9-]+))?(?:D:([A-Z]*)((?:\([^()]*\))*))?(?:S:([A-Z]*)((?:\([^()]*\))*))?$`)

// parseSDDL splits the subset of SDDL the pipes use: an owner, a DACL and
// a SACL (no group), each ACL a run of parenthesised ACEs.
func parseSDDL(t *testing.T, s string) sddlParts {
	t.Helper()
	m := sddlPart.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%q is not owner, DACL and SACL SDDL", s)
	}
	aces := func(s string) []string {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "("), ")")
		if s == "" {
			return nil
		}
		return strings.Split(s, ")(")
	}
	return sddlParts{owner: m[1], daclFlags: m[2], dacl: aces(m[3]), sacl: aces(m[5])}
}
