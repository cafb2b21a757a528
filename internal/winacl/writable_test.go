package winacl

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, s string) *SecurityDescriptor {
	t.Helper()
	sd, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

func TestWriters(t *testing.T) {
	for _, tt := range []struct {
		name string
		sddl string
		role Role
		want []Grant
	}{
		{"Downloads folder", sddlDownloads, Folder, []Grant{{SID: alice, Owner: true, Rights: Folder.Dangerous()}}},
		{"exe in Downloads", sddlDownloadsExe, Target, []Grant{{SID: alice, Owner: true, Rights: Target.Dangerous()}}},
		{"alice's profile above Downloads", sddlAliceProfile, Ancestor, []Grant{{SID: alice, Rights: Ancestor.Dangerous()}}},
		{"folder alice made under C:", sddlNewRootFolder, Folder, []Grant{
			{SID: alice, Owner: true},
			{SID: "S-1-5-11", Rights: FileWriteData | FileAppendData | Delete},
		}},
		{"folder an admin made under C:", sddlNewRootFolderByAdmin, Folder, []Grant{{SID: "S-1-5-11", Rights: FileWriteData | FileAppendData | Delete}}},
		{"folder an admin made under C:, further up", sddlNewRootFolderByAdmin, Ancestor, []Grant{{SID: "S-1-5-11", Rights: Delete}}},
		// Every user may add folders to C:\; as a parent that is harmless,
		// as the folder of the program it is not (PROGRAM.exe.local).
		{"C: above", sddlRoot, Ancestor, nil},
		{"C: holding the program", sddlRoot, Folder, []Grant{{SID: "S-1-5-11", Rights: FileAppendData}}},
		{"C:\\Users above", sddlUsers, Ancestor, nil},
		{"Program Files above", sddlProgramFiles, Ancestor, nil},
		{"Program Files holding the program", sddlProgramFiles, Folder, nil},
		{"Program Files\\warren inherited", sddlProgramFilesWarren, Folder, nil},
		{"warren's own DACL", sddlWarrenDACL, Folder, nil},
		{"installed exe", sddlInstalledExe, Target, nil},
		{"System32 holding wintun.dll", sddlSystem32, Folder, nil},
		{"Windows above", sddlWindows, Ancestor, nil},
		{"null DACL", "O:BAD:NO_ACCESS_CONTROL", Target, []Grant{{SID: SIDEveryone, Rights: Target.Dangerous(), NullDACL: true}}},
		{"no DACL read", "O:BA", Ancestor, []Grant{{SID: SIDEveryone, Rights: Ancestor.Dangerous(), NullDACL: true}}},
		{"no owner read", "D:(A;;FA;;;SY)", Target, []Grant{{SID: "", Owner: true}}},
		{"empty DACL", "O:SYD:", Target, nil},
		{"Everyone may write", "O:BAD:(A;;FW;;;WD)", Target, []Grant{{SID: SIDEveryone, Rights: FileWriteData | FileAppendData}}},
		{"Users may write (generic)", "O:BAD:(A;;GW;;;BU)", Target, []Grant{{SID: "S-1-5-32-545", Rights: FileWriteData | FileAppendData}}},
		{"Users GENERIC_ALL", "O:BAD:(A;;GA;;;BU)", Ancestor, []Grant{{SID: "S-1-5-32-545", Rights: Ancestor.Dangerous()}}},
		{"only WRITE_DAC", "O:BAD:(A;;WD;;;IU)", Target, []Grant{{SID: "S-1-5-4", Rights: WriteDAC}}},
		{"only WRITE_OWNER", "O:BAD:(A;;WO;;;AU)", Ancestor, []Grant{{SID: "S-1-5-11", Rights: WriteOwner}}},
		{"delete child on the folder", "O:BAD:(A;;0x40;;;AU)", Folder, []Grant{{SID: "S-1-5-11", Rights: FileDeleteChild}}},
		{"delete child on the file is meaningless", "O:BAD:(A;;0x40;;;AU)", Target, nil},
		{"write attributes only", "O:BAD:(A;;0x100;;;AU)", Target, nil},
		{"read and execute", "O:BAD:(A;;FX;;;WD)(A;;FR;;;WD)", Target, nil},
		// A deny before the allow is not relied on.
		{"denied, then allowed", "O:BAD:(D;;FA;;;AU)(A;;FA;;;AU)", Target, []Grant{{SID: "S-1-5-11", Rights: Target.Dangerous()}}},
		{"inherit-only is skipped", "O:BAD:(A;OICIIO;GA;;;AU)", Folder, nil},
		{"callback allow counts", "O:BAD:(XA;;FA;;;WD;(Member_of {SID(BA)}))", Target, []Grant{{SID: SIDEveryone, Rights: Target.Dangerous()}}},
		{"object allow counts", "O:BAD:(OA;;WD;bf967a7f-0de6-11d0-a285-00aa003049e2;;AU)", Target, []Grant{{SID: "S-1-5-11", Rights: WriteDAC}}},
		{"audit does not grant", "O:BAD:S:(AU;SA;FA;;;WD)", Target, nil},
		{"owner rights, trusted owner", "O:BAD:(A;;FA;;;OW)", Target, nil},
		{"owner rights, user owner", "O:" + alice + "D:(A;;FA;;;OW)", Target, []Grant{
			{SID: alice, Owner: true}, {SID: SIDOwnerRights, Rights: Target.Dangerous()},
		}},
		{"creator owner in effect", "O:BAD:(A;;FA;;;CO)", Target, []Grant{{SID: SIDCreatorOwner, Rights: Target.Dangerous()}}},
		{"domain admins by alias", "O:BAD:(A;;FA;;;DA)", Target, []Grant{{SID: "DA", Rights: Target.Dangerous()}}},
		{"TrustedInstaller owner", "O:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464D:(A;;FA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)", Target, nil},
		// Wine gives every file this: the user owns it and has full control.
		{"wine", "O:S-1-5-21-0-0-0-1000D:(A;;FA;;;SY)(A;;FA;;;S-1-5-21-0-0-0-1000)(A;;0x1200a9;;;WD)", Target, []Grant{{SID: "S-1-5-21-0-0-0-1000", Owner: true, Rights: Target.Dangerous()}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Writers(mustParse(t, tt.sddl), tt.role)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Writers = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestChain(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{`C:\Program Files\warren\warren.exe`, []string{`C:\Program Files\warren\warren.exe`, `C:\Program Files\warren`, `C:\Program Files`, `C:\`}},
		{`c:/tools//warren.exe`, []string{`C:\tools\warren.exe`, `C:\tools`, `C:\`}},
		{`C:\warren.exe`, []string{`C:\warren.exe`, `C:\`}},
		{`\\?\C:\Windows\System32\wintun.dll`, []string{`\\?\C:\Windows\System32\wintun.dll`, `\\?\C:\Windows\System32`, `\\?\C:\Windows`, `\\?\C:\`}},
		{`\\fs\apps\warren\warren.exe`, []string{`\\fs\apps\warren\warren.exe`, `\\fs\apps\warren`, `\\fs\apps\`}},
		{`\\?\UNC\fs\apps\warren.exe`, []string{`\\?\UNC\fs\apps\warren.exe`, `\\?\UNC\fs\apps\`}},
	} {
		got, err := Chain(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Chain(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "warren.exe", `tools\warren.exe`, `\tools\warren.exe`, `C:warren.exe`, `C:\`, `C:\a\..\b`, `\\fs\apps`, `\\fs`, `\\.\pipe\x`, "/usr/bin/warren"} {
		if got, err := Chain(in); !errors.Is(err, ErrPath) {
			t.Errorf("Chain(%q) = %q, %v; want ErrPath", in, got, err)
		}
	}
}

// fakeTree answers Reader calls from a map of paths to SDDL.
func fakeTree(m map[string]string) Reader {
	return func(p string) (string, error) {
		if s, ok := m[p]; ok {
			return s, nil
		}
		return "", fmt.Errorf("no such file %s", p)
	}
}

func TestCheckPath(t *testing.T) {
	tree := fakeTree(map[string]string{
		`C:\`:                                  sddlRoot,
		`C:\Users`:                             sddlUsers,
		`C:\Users\alice`:                       sddlAliceProfile,
		`C:\Users\alice\Downloads`:             sddlDownloads,
		`C:\Users\alice\Downloads\warren.exe`:  sddlDownloadsExe,
		`C:\tools`:                             sddlNewRootFolderByAdmin,
		`C:\tools\warren.exe`:                  sddlInstalledExe,
		`C:\Program Files`:                     sddlProgramFiles,
		`C:\Program Files\warren`:              sddlWarrenDACL,
		`C:\Program Files\warren\warren.exe`:   sddlInstalledExe,
		`C:\Program Files\warren\wintun.dll`:   sddlInstalledExe,
		`C:\Program Files\inherit`:             sddlProgramFilesWarren,
		`C:\Program Files\inherit\warren.exe`:  sddlInstalledExe,
		`C:\Program Files\loose`:               "O:BAD:AI(A;;FA;;;BA)(A;;0x1301bf;;;BU)",
		`C:\Program Files\loose\a`:             sddlProgramFilesWarren,
		`C:\Program Files\loose\a\warren.exe`:  sddlInstalledExe,
		`C:\Program Files\broken`:              "D:(A;;FA;;;XX)",
		`C:\Program Files\broken\warren.exe`:   sddlInstalledExe,
		`C:\Windows`:                           sddlWindows,
		`C:\Windows\System32`:                  sddlSystem32,
		`C:\Windows\System32\wintun.dll`:       sddlInstalledExe,
		`C:\Users\alice\Downloads\wintun.dll`:  sddlDownloadsExe,
		`C:\Users\alice\Downloads\shared.dll`:  sddlInstalledExe,
		`C:\Program Files\warren\unsafe.dll`:   "O:BAD:(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x1301bf;;;AU)",
		`C:\Program Files\warren\stranger.dll`: "O:S-1-5-21-1-2-3-1001D:(A;;FA;;;SY)(A;;FA;;;BA)",
	})
	for _, p := range []string{`C:\Program Files\warren\warren.exe`, `C:\Program Files\warren\wintun.dll`,
		`C:\Program Files\inherit\warren.exe`, `C:\Windows\System32\wintun.dll`} {
		if err := CheckPath(p, tree, nil); err != nil {
			t.Errorf("CheckPath(%s) = %v, want nil", p, err)
		}
	}
	names := func(sid string) string {
		if sid == alice {
			return `DESKTOP-1\alice`
		}
		return WellKnownName(sid)
	}
	for _, tt := range []struct {
		path string
		want *WritableError
		text []string
	}{
		{`C:\Users\alice\Downloads\warren.exe`, &WritableError{File: `C:\Users\alice\Downloads\warren.exe`, Path: `C:\Users\alice\Downloads\warren.exe`, Role: Target,
			Grant: Grant{SID: alice, Owner: true, Rights: Target.Dangerous()}, Name: `DESKTOP-1\alice`},
			[]string{`C:\Users\alice\Downloads\warren.exe can be changed by a non-administrator`, `DESKTOP-1\alice (` + alice + `) owns it and has full control`, "replace warren.exe", "as SYSTEM"}},
		// The DLL is fine in itself; its folder is not.
		{`C:\Users\alice\Downloads\shared.dll`, &WritableError{File: `C:\Users\alice\Downloads\shared.dll`, Path: `C:\Users\alice\Downloads`, Role: Folder,
			Grant: Grant{SID: alice, Owner: true, Rights: Folder.Dangerous()}, Name: `DESKTOP-1\alice`},
			[]string{`C:\Users\alice\Downloads, the folder of C:\Users\alice\Downloads\shared.dll, can be changed`, "replace shared.dll"}},
		{`C:\tools\warren.exe`, &WritableError{File: `C:\tools\warren.exe`, Path: `C:\tools`, Role: Folder,
			Grant: Grant{SID: "S-1-5-11", Rights: FileWriteData | FileAppendData | Delete}, Name: "Authenticated Users"},
			[]string{"Authenticated Users (S-1-5-11) may add files, add folders, delete or rename"}},
		{`C:\Program Files\loose\a\warren.exe`, &WritableError{File: `C:\Program Files\loose\a\warren.exe`, Path: `C:\Program Files\loose`, Role: Ancestor,
			Grant: Grant{SID: "S-1-5-32-545", Rights: Delete}, Name: "Users"},
			[]string{`C:\Program Files\loose, a parent folder of C:\Program Files\loose\a\warren.exe,`, "Users (S-1-5-32-545) may delete or rename"}},
		{`C:\Program Files\warren\unsafe.dll`, &WritableError{File: `C:\Program Files\warren\unsafe.dll`, Path: `C:\Program Files\warren\unsafe.dll`, Role: Target,
			Grant: Grant{SID: "S-1-5-11", Rights: FileWriteData | FileAppendData | Delete}, Name: "Authenticated Users"},
			[]string{"may write, append, delete or rename"}},
		{`C:\Program Files\warren\stranger.dll`, &WritableError{File: `C:\Program Files\warren\stranger.dll`, Path: `C:\Program Files\warren\stranger.dll`, Role: Target,
			Grant: Grant{SID: "S-1-5-21-1-2-3-1001", Owner: true}, Name: "S-1-5-21-1-2-3-1001"},
			[]string{"S-1-5-21-1-2-3-1001 owns it;"}},
	} {
		err := CheckPath(tt.path, tree, names)
		var we *WritableError
		if !errors.As(err, &we) || !errors.Is(err, ErrWritable) {
			t.Errorf("CheckPath(%s) = %v, want a WritableError", tt.path, err)
			continue
		}
		if !reflect.DeepEqual(we, tt.want) {
			t.Errorf("CheckPath(%s) = %+v, want %+v", tt.path, we, tt.want)
		}
		for _, s := range tt.text {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("CheckPath(%s): %q lacks %q", tt.path, err, s)
			}
		}
	}
	// A descriptor that cannot be read or parsed fails the check.
	if err := CheckPath(`C:\Program Files\broken\warren.exe`, tree, nil); !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), `C:\Program Files\broken`) {
		t.Errorf("unparsable descriptor: %v", err)
	}
	if err := CheckPath(`D:\warren.exe`, tree, nil); err == nil || !strings.Contains(err.Error(), `D:\warren.exe`) {
		t.Errorf("unreadable descriptor: %v", err)
	}
	if err := CheckPath(`warren.exe`, tree, nil); !errors.Is(err, ErrPath) {
		t.Errorf("relative path: %v", err)
	}
}
