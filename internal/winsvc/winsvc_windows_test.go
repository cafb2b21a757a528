package winsvc

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

func onWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

func TestDPAPIRoundTrip(t *testing.T) {
	if !onWine() && !windows.GetCurrentProcessToken().IsElevated() {
		t.Skip("DPAPI seals as SYSTEM: needs an elevated administrator")
	}
	plain := []byte("[Interface]\nPrivateKey = " + testKey + "\n")
	sealed, err := DPAPI{}.Seal("wg0", plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(testKey)) {
		t.Error("sealed blob holds the key in clear")
	}
	got, err := DPAPI{}.Open("wg0", sealed)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := (DPAPI{}).Open("other", sealed); err == nil {
		t.Error("a blob sealed for wg0 opened as other")
	}
	sealed[len(sealed)/2] ^= 1
	if _, err := (DPAPI{}).Open("wg0", sealed); err == nil {
		t.Error("a tampered blob opened")
	}
	if _, err := (DPAPI{}).Seal("empty", nil); err != nil {
		t.Errorf("sealing nothing: %v", err)
	}
}

// daclEntries lists "SID:mask:flags" for each ACE of path's DACL and
// whether the DACL is protected.
func daclEntries(t *testing.T, path string) ([]string, bool) {
	t.Helper()
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatalf("GetNamedSecurityInfo(%s): %v", path, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		t.Fatalf("DACL of %s: %v (nil: %v)", path, err, dacl == nil)
	}
	var out []string
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			t.Fatal(err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE {
			t.Errorf("%s: ACE %d of type %d", path, i, ace.Header.AceType)
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		out = append(out, sid.String())
	}
	slices.Sort(out)
	control, _, _ := sd.Control()
	return out, control&windows.SE_DACL_PROTECTED != 0
}

func TestOpenStoreSecuresDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "warren", "Data", "Configurations")
	st, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	testStore(t, st)
	if onWine() {
		// Wine 8 accepts SetNamedSecurityInfo on files and keeps nothing.
		t.Skip("wine does not keep file DACLs; the directory's DACL is checked on Windows only")
	}
	sids, protected := daclEntries(t, dir)
	if want := []string{"S-1-5-18", "S-1-5-32-544"}; !slices.Equal(slices.Compact(sids), want) {
		t.Errorf("store directory DACL admits %q, want only SYSTEM and Administrators", sids)
	}
	if !protected {
		t.Error("store directory DACL inherits from its parent")
	}

	// A file written into the store inherits the directory's DACL.
	if err := st.Save("wg1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if sids, _ := daclEntries(t, st.Path("wg1")); !slices.Equal(slices.Compact(sids), []string{"S-1-5-18", "S-1-5-32-544"}) {
		t.Errorf("stored file DACL admits %q", sids)
	}
}

func TestSecurityDescriptorsParse(t *testing.T) {
	for _, sddl := range []string{ServiceSecurityDescriptor, StoreSecurityDescriptor} {
		sd, err := windows.SecurityDescriptorFromString(sddl)
		if err != nil {
			t.Errorf("%s: %v", sddl, err)
			continue
		}
		if !strings.Contains(sd.String(), "S-1-5-32-556") && sddl == ServiceSecurityDescriptor && !strings.Contains(sd.String(), "NO") {
			t.Errorf("service DACL lacks Network Configuration Operators: %s", sd)
		}
	}
	// Network Configuration Operators may start, stop and query, but not
	// change, delete or re-permission a tunnel service.
	sd, _ := windows.SecurityDescriptorFromString(ServiceSecurityDescriptor)
	dacl, _, _ := sd.DACL()
	nco, _ := windows.CreateWellKnownSid(windows.WinBuiltinNetworkConfigurationOperatorsSid)
	var mask windows.ACCESS_MASK
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		windows.GetAce(dacl, i, &ace)
		if (*windows.SID)(unsafe.Pointer(&ace.SidStart)).Equals(nco) {
			mask |= ace.Mask
		}
	}
	for _, r := range []windows.ACCESS_MASK{windows.SERVICE_START, windows.SERVICE_STOP, windows.SERVICE_QUERY_STATUS, windows.SERVICE_INTERROGATE} {
		if mask&r == 0 {
			t.Errorf("Network Configuration Operators lack right %#x (mask %#x)", r, mask)
		}
	}
	for _, r := range []windows.ACCESS_MASK{windows.SERVICE_CHANGE_CONFIG, windows.DELETE, windows.WRITE_DAC, windows.WRITE_OWNER} {
		if mask&r != 0 {
			t.Errorf("Network Configuration Operators have right %#x (mask %#x)", r, mask)
		}
	}
}

// TestImportExport goes through Main, so it writes to the real store in
// Program Files: only under wine, whose prefix is thrown away.
func TestImportExport(t *testing.T) {
	if !onWine() {
		t.Skip("writes to %ProgramFiles%\\warren: runs under wine only")
	}
	text := "[Interface]\nPrivateKey = " + testKey + "\nAddress = 10.0.0.1/24\nPostUp = echo hi\n\n[Peer]\nPublicKey = " + testPeer + "\nAllowedIPs = 0.0.0.0/0\n"
	path := filepath.Join(t.TempDir(), "winetest.conf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := Main("warren", []string{"import", path}, Options{}, &stdout, &stderr); code != 0 {
		t.Fatalf("import: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "Imported tunnel winetest") || !strings.Contains(stdout.String(), "--allow-scripts") {
		t.Errorf("import said %q", stdout.String())
	}
	stdout.Reset()
	if code := Main("warren", []string{"export", "winetest"}, Options{}, &stdout, &stderr); code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr.String())
	}
	if stdout.String() != text {
		t.Errorf("export = %q, want %q", stdout.String(), text)
	}
	stdout.Reset()
	if code := Main("warren", []string{"service", "list"}, Options{}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "winetest\tnot installed\n") {
		t.Errorf("service list: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	dir, err := DefaultStoreDir()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "winetest"+StoreExt))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(testKey)) {
		t.Error("stored file holds the key in clear")
	}
	stderr.Reset()
	if code := Main("warren", []string{"export", "absent"}, Options{}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no stored configuration") {
		t.Errorf("export of a missing tunnel: exit %d, stderr %q", code, stderr.String())
	}
	// install refuses the hooks before touching the service manager.
	stderr.Reset()
	if code := Main("warren", []string{"service", "install", path}, Options{}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "hook commands refused") {
		t.Errorf("install with hooks: exit %d, stderr %q", code, stderr.String())
	}
	// run outside the service manager says so.
	stderr.Reset()
	if code := Main("warren", []string{"service", "run", "winetest"}, Options{}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "only the service manager") {
		t.Errorf("run outside a service: exit %d, stderr %q", code, stderr.String())
	}
}
