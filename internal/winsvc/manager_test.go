package winsvc

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/winacl"
)

func TestParseManagerArgs(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want ManagerCommand
	}{
		{[]string{"install"}, ManagerCommand{Op: ManagerInstall, Flags: []string{}}},
		{[]string{"install", "--allow-hooks", "--listen", "127.0.0.1:9000"}, ManagerCommand{Op: ManagerInstall, Flags: []string{"--allow-hooks", "--listen", "127.0.0.1:9000"}}},
		{[]string{"uninstall"}, ManagerCommand{Op: ManagerUninstall}},
		{[]string{"run", "--state", `C:\ProgramData\warren`}, ManagerCommand{Op: ManagerRun, Flags: []string{"--state", `C:\ProgramData\warren`}}},
	} {
		got, err := ParseManagerArgs(tt.args)
		if err != nil || got.Op != tt.want.Op || !slices.Equal(got.Flags, tt.want.Flags) {
			t.Errorf("ParseManagerArgs(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
	for _, args := range [][]string{
		nil,
		{"frob"},
		{"uninstall", "now"},
		{"install", "--state", `C:\x`},
		{"install", "-state=C:\\x"},
		{"install", "--config-dir=C:\\x"},
		{"install", "--allow-hooks", "-config-dir", "x"},
	} {
		if got, err := ParseManagerArgs(args); !errors.Is(err, ErrUsage) {
			t.Errorf("ParseManagerArgs(%q) = %+v, %v; want a usage error", args, got, err)
		}
	}
	// The service's command line is `warren manager run`, its state first.
	args := ManagerServiceArgs(`C:\ProgramData\warren`, []string{"--allow-hooks"})
	if want := []string{"manager", "run", "--state", `C:\ProgramData\warren`, "--allow-hooks"}; !slices.Equal(args, want) {
		t.Errorf("ManagerServiceArgs = %q, want %q", args, want)
	}
	if cmd, err := ParseManagerArgs(args[1:]); err != nil || cmd.Op != ManagerRun || !slices.Equal(cmd.Flags, args[2:]) {
		t.Errorf("the service's own command line parses as %+v, %v", cmd, err)
	}
	for _, a := range []string{"install", "uninstall", "run"} {
		if !IsManagerCommand(a) {
			t.Errorf("IsManagerCommand(%q) = false", a)
		}
	}
	for _, a := range []string{"--listen", "", "-h", "list"} {
		if IsManagerCommand(a) {
			t.Errorf("IsManagerCommand(%q) = true", a)
		}
	}
}

// The private folder's check, over descriptors as Windows writes them.
func TestCheckPrivateChain(t *testing.T) {
	const self = "S-1-5-21-1-2-3-1001"
	const programData = "O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)(A;CI;DCLCRPCR;;;BU)"
	const root = "O:SYG:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;BU)(A;CI;LC;;;AU)(A;OICIIO;SDGXGWGR;;;AU)"
	ours := "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
	chain := []string{`C:\ProgramData\warren`, `C:\ProgramData`, `C:\`}
	read := func(dir string) winacl.Reader {
		return func(p string) (string, error) {
			switch p {
			case chain[0]:
				return dir, nil
			case chain[1]:
				return programData, nil
			case chain[2]:
				return root, nil
			}
			return "", errors.New("no such file")
		}
	}
	for _, tt := range []struct {
		name, sddl string
		ok         bool
		says       string
	}{
		{"ours", ours, true, ""},
		{"owned by SYSTEM", "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", true, ""},
		{"the caller's own, readable by users", "O:" + self + "D:(A;OICI;FA;;;SY)(A;OICI;FA;;;" + self + ")(A;OICI;0x1200a9;;;BU)", true, ""},
		// A user made the folder before the manager did: they own it.
		{"squatted", "O:S-1-5-21-1-2-3-1002D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", false, "owns it"},
		// Made by hand: ProgramData's inherited ACEs let users add files.
		{"inherited from ProgramData", "O:BAD:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIIOID;GA;;;CO)(A;OICIID;0x1200a9;;;BU)(A;CIID;DCLCRPCR;;;BU)", false, "Users"},
		{"no DACL", "O:BAD:NO_ACCESS_CONTROL", false, "anything"},
		{"everyone writes", "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;WD)", false, "Everyone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPrivateChain(chain, read(tt.sddl), self)
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrUnsafeDir) || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), chain[0]) {
				t.Fatalf("err = %v; want ErrUnsafeDir naming the folder and %q", err, tt.says)
			}
		})
	}
	// A parent that lets users delete what it holds could swap the folder.
	loose := func(p string) (string, error) {
		if p == chain[1] {
			return "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;BU)", nil
		}
		return read(ours)(p)
	}
	if err := checkPrivateChain(chain, loose, self); !errors.Is(err, ErrUnsafeDir) || !strings.Contains(err.Error(), `in C:\ProgramData`) {
		t.Errorf("a parent users may change: %v", err)
	}
	// A descriptor that cannot be read fails the check.
	if err := checkPrivateChain([]string{`C:\nowhere`}, read(ours), self); err == nil {
		t.Error("an unreadable descriptor passed")
	}
}
