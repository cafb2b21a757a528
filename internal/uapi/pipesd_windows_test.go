package uapi

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/warren-vpn/warren/internal/testenv"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// pipeDirName is an interface name for a test's pipe in PipeDir, which is
// shared by the whole machine (or wine prefix): prefix and a clock reading,
// unique per run.
func pipeDirName(prefix string) string {
	return fmt.Sprintf("%s%x", prefix, uint32(time.Now().UnixNano()))
}

// skipUnlessElevated skips a test that serves in PipeDir, which takes an
// elevated administrator (or SYSTEM) on Windows. Wine's user is one.
func skipUnlessElevated(t *testing.T) {
	t.Helper()
	if !windows.GetCurrentProcessToken().IsElevated() {
		t.Skip("serving in " + PipeDir + " takes an elevated administrator")
	}
}

// serveSDDL serves a fake device at path with a security descriptor of the
// test's choosing, as an impostor (or a buggy server) might. (Assigning
// an owner other than oneself takes SeRestorePrivilege, as for Listen.)
func serveSDDL(t *testing.T, path, sddl string) {
	t.Helper()
	l, err := listenPipe(path, sddl, true)
	if err != nil {
		t.Fatalf("listen %s with %s: %v", path, sddl, err)
	}
	testenv.Serve(t, func() error { return Serve(l, &fakeHandler{state: &wgtypes.Device{}}, t.Logf) }, l.Close)
}

// TestPipeDirSecurityDescriptor serves an interface in WireGuard's own
// namespace and reads the security descriptor off the pipe, as wg.exe
// does: owner LocalSystem, a protected DACL for SYSTEM and Administrators
// only, and a high no-write/read/execute-up label.
func TestPipeDirSecurityDescriptor(t *testing.T) {
	skipUnlessElevated(t)
	name := pipeDirName("wsd")
	serveTest(t, PipeDir, name, &fakeHandler{state: testDevice()})
	c, err := Dial(PipeDir, name)
	if err != nil {
		t.Fatalf("Dial of our own pipe in %s: %v", PipeDir, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := Get(c); err != nil {
		t.Fatalf("Get over the pipe: %v", err)
	}

	h := windows.Handle(c.(interface{ Fd() uintptr }).Fd())
	sd, err := windows.GetSecurityInfo(h, windows.SE_KERNEL_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION|windows.LABEL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatalf("GetSecurityInfo: %v", err)
	}
	t.Logf("pipe security descriptor: %v", sd)

	owner, _, err := sd.Owner()
	if err != nil || owner == nil || !owner.IsWellKnown(windows.WinLocalSystemSid) {
		t.Errorf("owner %v (%v), want LocalSystem S-1-5-18: wg.exe refuses any other", owner, err)
	}

	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		t.Fatalf("DACL %v, %v; want one (a NULL DACL admits everyone)", dacl, err)
	}
	var sids []string
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			t.Fatalf("GetAce %d: %v", i, err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE {
			t.Errorf("DACL ACE %d has type %d, want access-allowed only", i, ace.Header.AceType)
		}
		sids = append(sids, (*windows.SID)(unsafe.Pointer(&ace.SidStart)).String())
	}
	slices.Sort(sids)
	if want := []string{"S-1-5-18", "S-1-5-32-544"}; !slices.Equal(sids, want) {
		t.Errorf("DACL admits %q, want only SYSTEM and Administrators %q", sids, want)
	}
	if control, _, err := sd.Control(); err != nil || control&windows.SE_DACL_PROTECTED == 0 {
		t.Errorf("DACL not protected from inheritance: control %#x, %v", control, err)
	}

	sacl, _, err := sd.SACL()
	if err != nil || sacl == nil || sacl.AceCount != 1 {
		t.Fatalf("SACL %v, %v; want one mandatory label", sacl, err)
	}
	var label *windows.ACCESS_ALLOWED_ACE // SYSTEM_MANDATORY_LABEL_ACE has the same layout
	if err := windows.GetAce(sacl, 0, &label); err != nil {
		t.Fatalf("GetAce of the label: %v", err)
	}
	const (
		systemMandatoryLabelACEType = 0x11 // SYSTEM_MANDATORY_LABEL_ACE_TYPE
		noWriteReadExecuteUp        = 0x7  // SYSTEM_MANDATORY_LABEL_NO_WRITE_UP | NO_READ_UP | NO_EXECUTE_UP
		highIntegrity               = "S-1-16-12288"
	)
	if got := (*windows.SID)(unsafe.Pointer(&label.SidStart)).String(); label.Header.AceType != systemMandatoryLabelACEType ||
		label.Mask != noWriteReadExecuteUp || got != highIntegrity {
		t.Errorf("label: type %#x mask %#x SID %s; want type %#x mask %#x SID %s",
			label.Header.AceType, label.Mask, got, systemMandatoryLabelACEType, noWriteReadExecuteUp, highIntegrity)
	}
}

// TestDialRefusesForeignOwner: in PipeDir only a LocalSystem-owned pipe is
// trusted, as by wg.exe (an Administrators-owned one could be any elevated
// process's, and the caller's own is not the tunnel service's); in a
// private namespace the caller's own and the Administrators' pass too, and
// anybody else's is refused.
func TestDialRefusesForeignOwner(t *testing.T) {
	skipUnlessElevated(t)
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	self := tu.User.Sid.String()
	private := testPipeDir(t)
	const dacl = "D:P(A;;GA;;;SY)(A;;GA;;;BA)"
	tests := []struct {
		name   string
		dir    string
		owner  string
		refuse bool
	}{
		{"PipeDir, Administrators", PipeDir, "BA", true},
		{"PipeDir, the caller", PipeDir, self, true},
		{"PipeDir, Guests", PipeDir, "BG", true},
		{"PipeDir, LocalSystem", PipeDir, "SY", false},
		{"private, Guests", private, "BG", true},
		{"private, another user", private, "S-1-5-21-1-2-3-1001", true},
		{"private, the caller", private, self, false},
		{"private, Administrators", private, "BA", false},
		{"private, LocalSystem", private, "SY", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := pipeDirName(fmt.Sprintf("wo%d", i))
			path, err := pipePath(tt.dir, name)
			if err != nil {
				t.Fatal(err)
			}
			serveSDDL(t, path, "O:"+tt.owner+dacl)
			c, err := Dial(tt.dir, name)
			if tt.refuse {
				if err == nil {
					c.Close()
					t.Fatalf("Dial accepted a pipe owned by %s", tt.owner)
				}
				if !errors.Is(err, fs.ErrPermission) {
					t.Fatalf("Dial = %v, want fs.ErrPermission", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial of a pipe owned by %s: %v", tt.owner, err)
			}
			c.Close()
		})
	}
}

// TestCreatePipeRestorePrivilege: when Windows refuses the owner
// (ERROR_INVALID_OWNER, as for an elevated administrator claiming
// LocalSystem), the pipe is created again with SeRestorePrivilege enabled
// on the creating thread only; otherwise nothing is retried.
func TestCreatePipeRestorePrivilege(t *testing.T) {
	restore := restorePrivilegeLUID(t)
	before := processPrivilege(t, restore)
	var calls []bool // whether the thread wore SeRestorePrivilege, per call
	create := func() (windows.Handle, error) {
		var tok windows.Token
		enabled := false
		if err := windows.OpenThreadToken(windows.CurrentThread(), windows.TOKEN_QUERY, true, &tok); err == nil {
			enabled, _ = privilegeEnabled(tok, restore)
			tok.Close()
		}
		calls = append(calls, enabled)
		if len(calls) == 1 {
			return 0, windows.ERROR_INVALID_OWNER
		}
		return 1234, nil
	}
	h, err := createPipe(create, true)
	if err != nil {
		if errors.Is(err, errNoRestorePrivilege) {
			t.Skipf("this process does not hold SeRestorePrivilege: %v", err)
		}
		t.Fatal(err)
	}
	if h != 1234 || !slices.Equal(calls, []bool{false, true}) {
		t.Errorf("createPipe = %v; calls wore SeRestorePrivilege %v; want 1234, [false true]", h, calls)
	}
	if after := processPrivilege(t, restore); after != before {
		t.Errorf("process token's SeRestorePrivilege attributes went from %#x to %#x", before, after)
	}

	calls = nil
	if _, err := createPipe(create, false); !errors.Is(err, windows.ERROR_INVALID_OWNER) || len(calls) != 1 {
		t.Errorf("without claimOwner: %v after %d calls, want ERROR_INVALID_OWNER after 1", err, len(calls))
	}
	calls = nil
	busy := func() (windows.Handle, error) { calls = append(calls, false); return 0, windows.ERROR_PIPE_BUSY }
	if _, err := createPipe(busy, true); !errors.Is(err, windows.ERROR_PIPE_BUSY) || len(calls) != 1 {
		t.Errorf("another error: %v after %d calls, want ERROR_PIPE_BUSY after 1", err, len(calls))
	}
}

func restorePrivilegeLUID(t *testing.T) windows.LUID {
	t.Helper()
	var luid windows.LUID
	if err := windows.LookupPrivilegeValue(nil, windows.StringToUTF16Ptr("SeRestorePrivilege"), &luid); err != nil {
		t.Fatal(err)
	}
	return luid
}

// processPrivilege is the attributes of privilege luid in the process
// token (0 if it lacks it).
func processPrivilege(t *testing.T, luid windows.LUID) uint32 {
	t.Helper()
	tok := windows.GetCurrentProcessToken()
	var n uint32
	windows.GetTokenInformation(tok, windows.TokenPrivileges, nil, 0, &n)
	buf := make([]byte, n)
	if err := windows.GetTokenInformation(tok, windows.TokenPrivileges, &buf[0], n, &n); err != nil {
		t.Fatal(err)
	}
	for _, p := range (*windows.Tokenprivileges)(unsafe.Pointer(&buf[0])).AllPrivileges() {
		if p.Luid == luid {
			return p.Attributes
		}
	}
	return 0
}
