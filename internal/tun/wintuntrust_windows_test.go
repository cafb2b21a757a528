//go:build windows

package tun

import (
	"debug/pe"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/warren-vpn/warren/internal/winacl"
)

// The fixtures (testdata/wintuntrust, made by gen.sh) are an unsigned
// x86-64 DLL and the same DLL signed by "Warren Test Signer", whose root
// no machine trusts.
const testSigner = "Warren Test Signer"

func onWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// adminOnly is a winacl.Reader that says every object is Program Files-like:
// only SYSTEM and Administrators may change it. It lets the signature
// tests run where real descriptors would (rightly) refuse a temporary
// folder.
func adminOnly(string) (string, error) {
	return "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)", nil
}

// fixture copies testdata/wintuntrust/name into a new folder as base and
// returns its path.
func fixture(t *testing.T, name, base string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "wintuntrust", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), base)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tampered is signed.dll with one byte of its code changed.
func tampered(t *testing.T, base string) string {
	t.Helper()
	p := fixture(t, "signed.dll", base)
	f, err := pe.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	text := f.Section(".text")
	f.Close()
	if text == nil {
		t.Fatal("signed.dll has no .text")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[text.Offset+0x10] ^= 0xff
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTrustRefusesUnsigned(t *testing.T) {
	_, err := loadTrustedDLL(fixture(t, "unsigned.dll", "wintun.dll"), wintunSigner, adminOnly)
	if !errors.Is(err, ErrWintunUnsigned) {
		t.Fatalf("unsigned DLL: %v, want ErrWintunUnsigned", err)
	}
	if !strings.Contains(err.Error(), "no Authenticode signature") {
		t.Errorf("error %q does not say it is unsigned", err)
	}
}

func TestTrustRefusesTampered(t *testing.T) {
	_, err := loadTrustedDLL(tampered(t, "wintun.dll"), testSigner, adminOnly)
	if !errors.Is(err, ErrWintunTampered) {
		t.Fatalf("tampered DLL: %v, want ErrWintunTampered", err)
	}
}

// A DLL signed by someone else is refused: on Windows because the test
// root is not trusted, and under wine, whose WinVerifyTrust does not check
// the chain to a trusted root, because the signer is not WireGuard LLC.
func TestTrustRefusesOtherSigner(t *testing.T) {
	_, err := loadTrustedDLL(fixture(t, "signed.dll", "wintun.dll"), wintunSigner, adminOnly)
	switch {
	case onWine():
		if !errors.Is(err, ErrWintunSigner) || !strings.Contains(err.Error(), `signed by "Warren Test Signer", not "WireGuard LLC"`) {
			t.Fatalf("DLL by another signer: %v, want ErrWintunSigner naming both", err)
		}
	default:
		if !errors.Is(err, ErrWintunUntrusted) && !errors.Is(err, ErrWintunSigner) {
			t.Fatalf("DLL from an untrusted root: %v, want ErrWintunUntrusted", err)
		}
	}
}

// With the test signer accepted (under wine, which takes any root), the
// DLL is loaded, and a bare-name load, as the wintun package makes, gets
// the same module.
func TestTrustLoadsSigned(t *testing.T) {
	if !onWine() {
		t.Skip("the test root is not trusted on Windows; this runs under wine")
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("the fixture is an x86-64 DLL")
	}
	p := fixture(t, "signed.dll", "warrentrustprobe.dll")
	m, err := loadTrustedDLL(p, testSigner, adminOnly)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { windows.FreeLibrary(m) }) // before TempDir's cleanup deletes it
	proc, err := windows.GetProcAddress(m, "wintun_trust_probe")
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := syscall.SyscallN(proc); r != 42 {
		t.Errorf("probe returned %d, want 42", r)
	}
	again, err := windows.LoadLibraryEx("warrentrustprobe.dll", 0,
		windows.LOAD_LIBRARY_SEARCH_APPLICATION_DIR|windows.LOAD_LIBRARY_SEARCH_SYSTEM32)
	if err != nil || again != m {
		t.Errorf("bare-name load = %v, %v; want the checked module %v", again, err, m)
	}
	if err == nil {
		windows.FreeLibrary(again)
	}
}

// A DLL in a folder the user can write (a temporary folder: on Windows
// the user's own, under wine every folder, since wine gives the user
// ownership of all files) is refused before its signature is looked at.
func TestTrustRefusesWritableFolder(t *testing.T) {
	p := fixture(t, "signed.dll", "wintun.dll")
	if err := winacl.CheckPath(p, readFileSecurity, winacl.AccountName); err == nil {
		t.Skipf("%s is in a folder only administrators can change", p)
	}
	_, err := loadTrustedDLL(p, testSigner, readFileSecurity)
	if !errors.Is(err, ErrWintunWritable) || !errors.Is(err, winacl.ErrWritable) {
		t.Fatalf("DLL in a writable folder: %v, want ErrWintunWritable", err)
	}
	if !strings.Contains(err.Error(), "run as SYSTEM") {
		t.Errorf("error %q does not say why it matters", err)
	}
	t.Logf("refused: %v", err)
}

// While the DLL is checked it cannot be written, deleted or renamed.
func TestTrustLocksFile(t *testing.T) {
	p := fixture(t, "signed.dll", "wintun.dll")
	f, final, err := openLocked(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(winacl.StripExtendedPrefix(final), p) {
		t.Errorf("final path %q for %q", final, p)
	}
	if w, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
		w.Close()
		t.Error("opened for writing while locked")
	}
	if err := os.Rename(p, p+".old"); err == nil {
		t.Error("renamed while locked")
	}
	if err := os.Remove(p); err == nil {
		t.Error("deleted while locked")
	}
	if b, err := os.ReadFile(p); err != nil || len(b) == 0 {
		t.Errorf("not readable while locked: %v", err)
	}
	windows.CloseHandle(f)
	if err := os.Remove(p); err != nil {
		t.Errorf("delete after unlocking: %v", err)
	}
}

// findWintunDLL refuses a wintun.dll beside the program when it is not
// safe (here: the test binary's folder, which the user can write, and an
// unsigned DLL). It used to accept any file of that name.
func TestFindWintunDLLRefusesUnsafeDLL(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	beside := filepath.Join(filepath.Dir(exe), "wintun.dll")
	if _, err := os.Stat(beside); err == nil {
		t.Skip("a wintun.dll is installed beside the test binary")
	}
	b, err := os.ReadFile(filepath.Join("testdata", "wintuntrust", "unsigned.dll"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(beside, b, 0o600); err != nil {
		t.Skip(err)
	}
	defer os.Remove(beside)
	err = findWintunDLL()
	if !errors.Is(err, ErrWintunWritable) && !errors.Is(err, ErrWintunUnsigned) {
		t.Fatalf("findWintunDLL with an unsafe wintun.dll = %v, want it refused", err)
	}
	for _, want := range []string{"refusing " + beside, wintunURL, `bin\` + runtime.GOARCH + `\wintun.dll`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// If wintun.dll is already loaded (from anywhere), findWintunDLL checks
// the file it was loaded from. Run in a child process, which is left with
// the DLL loaded.
func TestFindWintunDLLChecksLoadedModule(t *testing.T) {
	if os.Getenv("WARREN_TUN_LOADED_CHILD") == "1" {
		p := os.Getenv("WARREN_TUN_LOADED_DLL")
		if _, err := windows.LoadLibraryEx(p, 0, windows.LOAD_LIBRARY_SEARCH_SYSTEM32); err != nil {
			t.Fatalf("load %s: %v", p, err)
		}
		err := findWintunDLL()
		if !errors.Is(err, ErrWintunWritable) || !strings.Contains(err.Error(), "refusing "+p) {
			t.Fatalf("findWintunDLL with %s loaded = %v, want it refused as writable", p, err)
		}
		return
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("the fixture is an x86-64 DLL")
	}
	p := fixture(t, "signed.dll", "wintun.dll")
	if err := winacl.CheckPath(p, readFileSecurity, winacl.AccountName); err == nil {
		t.Skipf("%s is in a folder only administrators can change", p)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFindWintunDLLChecksLoadedModule$", "-test.v")
	cmd.Env = append(os.Environ(), "WARREN_TUN_LOADED_CHILD=1", "WARREN_TUN_LOADED_DLL="+p)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
