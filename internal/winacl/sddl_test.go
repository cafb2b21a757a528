package winacl

import (
	"errors"
	"reflect"
	"testing"
)

// Security descriptors as Windows 10 and 11 report them (Get-Acl's Sddl,
// which is what GetNamedSecurityInfo then String gives).
const (
	alice = "S-1-5-21-1004336348-1177238915-682003330-1001"
	// sddlDownloads is C:\Users\alice\Downloads: alice owns it and has
	// full control, inherited from her profile folder.
	sddlDownloads = "O:" + alice + "G:" + alice +
		"D:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;" + alice + ")"
	// sddlDownloadsExe is warren.exe saved into Downloads.
	sddlDownloadsExe = "O:" + alice + "G:" + alice +
		"D:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;FA;;;" + alice + ")"
	// sddlUsers is C:\Users.
	sddlUsers = "O:SYG:SYD:PAI(D;;CC;;;WD)(A;OICIIO;FA;;;CO)(A;;0x1200a9;;;WD)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;;0x1200a9;;;AU)"
	// sddlAliceProfile is C:\Users\alice.
	sddlAliceProfile = "O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;" + alice + ")"
	// sddlRoot is C:\: every signed-in user may add folders to it, and
	// gets Modify, inherit-only, on what they add.
	sddlRoot = "O:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464G:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464" +
		"D:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;BU)(A;OICIIO;SDGXGWGR;;;AU)(A;;LC;;;AU)"
	// sddlNewRootFolder is C:\tools, made by alice: she owns it, and
	// Authenticated Users have Modify from C:\ by inheritance.
	sddlNewRootFolder = "O:" + alice + "G:" + alice +
		"D:AI(A;ID;FA;;;BA)(A;OICIIOID;GA;;;BA)(A;ID;FA;;;SY)(A;OICIIOID;GA;;;SY)(A;OICIID;0x1200a9;;;BU)(A;ID;0x1301bf;;;AU)(A;OICIIOID;SDGXGWGR;;;AU)"
	// sddlNewRootFolderByAdmin is C:\tools made by an administrator: owned
	// by Administrators, yet Authenticated Users still have Modify.
	sddlNewRootFolderByAdmin = "O:BAG:S-1-5-21-1004336348-1177238915-682003330-513" +
		"D:AI(A;ID;FA;;;BA)(A;OICIIOID;GA;;;BA)(A;ID;FA;;;SY)(A;OICIIOID;GA;;;SY)(A;OICIID;0x1200a9;;;BU)(A;ID;0x1301bf;;;AU)(A;OICIIOID;SDGXGWGR;;;AU)"
	// sddlProgramFiles is C:\Program Files: TrustedInstaller full control,
	// SYSTEM and Administrators Modify here and full control (GA) on
	// what is made inside, Users and app packages read and execute.
	sddlProgramFiles = "O:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464G:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464" +
		"D:PAI(A;;FA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)(A;CIIO;GA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)" +
		"(A;;0x1301bf;;;SY)(A;OICIIO;GA;;;SY)(A;;0x1301bf;;;BA)(A;OICIIO;GA;;;BA)(A;;0x1200a9;;;BU)(A;OICIIO;GXGR;;;BU)(A;OICIIO;GA;;;CO)" +
		"(A;;0x1200a9;;;AC)(A;OICIIO;GXGR;;;AC)(A;;0x1200a9;;;S-1-15-2-2)(A;OICIIO;GXGR;;;S-1-15-2-2)"
	// sddlProgramFilesWarren is C:\Program Files\warren as an
	// administrator's mkdir leaves it: everything inherited.
	sddlProgramFilesWarren = "O:BAG:S-1-5-21-1004336348-1177238915-682003330-513" +
		"D:AI(A;ID;FA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)(A;CIIOID;GA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)" +
		"(A;ID;FA;;;SY)(A;OICIIOID;GA;;;SY)(A;ID;FA;;;BA)(A;OICIIOID;GA;;;BA)(A;ID;0x1200a9;;;BU)(A;OICIIOID;GXGR;;;BU)(A;OICIIOID;GA;;;CO)" +
		"(A;ID;0x1200a9;;;AC)(A;OICIIOID;GXGR;;;AC)(A;ID;0x1200a9;;;S-1-15-2-2)(A;OICIIOID;GXGR;;;S-1-15-2-2)"
	// sddlInstalledExe is warren.exe copied in there.
	sddlInstalledExe = "O:BAG:S-1-5-21-1004336348-1177238915-682003330-513" +
		"D:AI(A;ID;FA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;0x1200a9;;;BU)(A;ID;0x1200a9;;;AC)(A;ID;0x1200a9;;;S-1-15-2-2)"
	// sddlSystem32 is C:\Windows\System32.
	sddlSystem32 = "O:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464G:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464" +
		"D:PAI(A;OICIIO;GA;;;CO)(A;OICIIO;GA;;;SY)(A;;0x1301bf;;;SY)(A;OICIIO;GA;;;BA)(A;;0x1301bf;;;BA)(A;OICIIO;GXGR;;;BU)(A;;0x1200a9;;;BU)" +
		"(A;CIIO;GA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)(A;;FA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)" +
		"(A;;0x1200a9;;;AC)(A;OICIIO;GXGR;;;AC)(A;;0x1200a9;;;S-1-15-2-2)(A;OICIIO;GXGR;;;S-1-15-2-2)"
	// sddlWindows is C:\Windows (the same as System32).
	sddlWindows = sddlSystem32
	// sddlWarrenDACL is what warren service install gives
	// %ProgramFiles%\warren.
	sddlWarrenDACL = "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"
)

func TestParseRealDescriptors(t *testing.T) {
	sd, err := Parse(sddlProgramFiles)
	if err != nil {
		t.Fatal(err)
	}
	if sd.Owner != SIDTrustedInstaller || sd.Group != SIDTrustedInstaller {
		t.Errorf("owner %q group %q", sd.Owner, sd.Group)
	}
	if sd.DACL == nil || sd.DACL.Flags != Protected|AutoInherited || len(sd.DACL.ACEs) != 13 {
		t.Fatalf("DACL %+v", sd.DACL)
	}
	want := []ACE{
		{Type: AccessAllowed, Mask: 0x1f01ff, SID: SIDTrustedInstaller},
		{Type: AccessAllowed, Flags: ContainerInherit | InheritOnly, Mask: GenericAll, SID: SIDTrustedInstaller},
		{Type: AccessAllowed, Mask: 0x1301bf, SID: SIDSystem},
		{Type: AccessAllowed, Flags: ObjectInherit | ContainerInherit | InheritOnly, Mask: GenericAll, SID: SIDSystem},
	}
	if !reflect.DeepEqual(sd.DACL.ACEs[:4], want) {
		t.Errorf("first ACEs %+v, want %+v", sd.DACL.ACEs[:4], want)
	}
	if got := sd.DACL.ACEs[8]; got.SID != SIDCreatorOwner || got.Mask != GenericAll {
		t.Errorf("CREATOR OWNER ACE %+v", got)
	}
	users, _ := Parse(sddlUsers)
	if d := users.DACL.ACEs[0]; d.Type != AccessDenied || d.Mask != 0x1 || d.SID != SIDEveryone {
		t.Errorf("deny ACE %+v", d)
	}
	root, _ := Parse(sddlRoot)
	if a := root.DACL.ACEs[3]; a.Mask != Delete|GenericExecute|GenericWrite|GenericRead || a.Flags != ObjectInherit|ContainerInherit|InheritOnly {
		t.Errorf("C:\\ inherit-only Modify %+v", a)
	}
	for _, s := range []string{sddlDownloads, sddlDownloadsExe, sddlUsers, sddlAliceProfile, sddlNewRootFolder,
		sddlNewRootFolderByAdmin, sddlProgramFilesWarren, sddlInstalledExe, sddlSystem32, sddlWarrenDACL} {
		if _, err := Parse(s); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func TestParseForms(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want SecurityDescriptor
	}{
		{"", SecurityDescriptor{}},
		{"D:NO_ACCESS_CONTROL", SecurityDescriptor{DACL: &ACL{Flags: NoAccessControl}}},
		{"D:", SecurityDescriptor{DACL: &ACL{}}},
		{"D:(A;;FA;;;WD)O:SY", SecurityDescriptor{Owner: SIDSystem, DACL: &ACL{ACEs: []ACE{{Mask: 0x1f01ff, SID: SIDEveryone}}}}},
		{"O:S-1-0x000000000005-18", SecurityDescriptor{Owner: SIDSystem}},
		{"O:DAG:DU", SecurityDescriptor{Owner: "DA", Group: "DU"}},
		{"D:P(A;;WDWO;;;S-1-5-11)", SecurityDescriptor{DACL: &ACL{Flags: Protected, ACEs: []ACE{{Mask: WriteDAC | WriteOwner, SID: "S-1-5-11"}}}}},
		{"D:(A;;1179817;;;BU)", SecurityDescriptor{DACL: &ACL{ACEs: []ACE{{Mask: 0x1200a9, SID: "S-1-5-32-545"}}}}},
		{"D:(OA;CI;RPWP;bf967a7f-0de6-11d0-a285-00aa003049e2;;AU)", SecurityDescriptor{DACL: &ACL{ACEs: []ACE{
			{Type: AccessAllowedObject, Flags: ContainerInherit, Mask: 0x30, ObjectType: "bf967a7f-0de6-11d0-a285-00aa003049e2", SID: "S-1-5-11"}}}}},
		{`D:(XA;;FA;;;WD;(@User.Title == "P(M)"))`, SecurityDescriptor{DACL: &ACL{ACEs: []ACE{
			{Type: AccessAllowedCallback, Mask: 0x1f01ff, SID: SIDEveryone, Extra: `(@User.Title == "P(M)")`}}}}},
		{"S:(ML;;NW;;;HI)", SecurityDescriptor{SACL: &ACL{ACEs: []ACE{{Type: SystemMandatoryLabel, Mask: 1, SID: "S-1-16-12288"}}}}},
	} {
		sd, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(*sd, tt.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, *sd, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"X:SY", "O:", "O:ZZ", "O:S-2-5-18", "O:S-1-5-x", "O:S-1-5-4294967296", "O:SYO:SY",
		"D:(A;;FA;;;SY", "D:(A;;FA;;SY)", "D:(Q;;FA;;;SY)", "D:(A;ZZ;FA;;;SY)", "D:(A;;QQ;;;SY)",
		"D:(A;;FAF;;;SY)", "D:(A;;0x1ffffffff;;;SY)", "D:(A;;FA;nope;;SY)", "D:Q(A;;FA;;;SY)",
		"D:NO_ACCESS_CONTROL(A;;FA;;;SY)", "D:(A;;FA;;;SY;)", "O:S-1-5-+18", "O:S-1-5-1_8",
		"O:S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
	} {
		if sd, err := Parse(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %+v, %v; want ErrSyntax", in, sd, err)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	for _, s := range []string{sddlProgramFiles, sddlRoot, sddlUsers, sddlDownloads, `D:AR(XA;OICI;GA;;;WD;(Member_of {SID(BA)}))S:(ML;;NW;;;HI)`} {
		sd, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(sd.String())
		if err != nil {
			t.Fatalf("Parse(%q): %v", sd.String(), err)
		}
		if !reflect.DeepEqual(sd, back) {
			t.Errorf("%q → %q → %+v", s, sd.String(), back)
		}
	}
}

func FuzzParse(f *testing.F) {
	// Seeds are in testdata/fuzz/FuzzParse, with the descriptors above.
	for _, s := range []string{sddlProgramFiles, sddlRoot, sddlUsers, sddlDownloads, sddlSystem32} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sd, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q): error %v does not match ErrSyntax", s, err)
			}
			return
		}
		back, err := Parse(sd.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", s, sd.String(), err)
		}
		if !reflect.DeepEqual(sd, back) {
			t.Fatalf("Parse(%q) = %+v; its String %q parses to %+v", s, sd, sd.String(), back)
		}
		for _, r := range []Role{Target, Folder, Ancestor} {
			for _, g := range Writers(sd, r) {
				if Trusted(g.SID) {
					t.Fatalf("Writers(%q, %v) lists trusted %s", s, r, g.SID)
				}
				if g.Rights&^r.Dangerous() != 0 {
					t.Fatalf("Writers(%q, %v) lists rights %#x beyond %#x", s, r, g.Rights, r.Dangerous())
				}
			}
		}
	})
}
