package winsvc

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

func init() {
	if onWine() {
		// Wine has no SYSTEM account: every process, services.exe
		// included, runs as the one user, so runAsSystem (rightly) finds
		// no token to borrow. The store tests under wine seal in that
		// user's scope instead; TestRunAsSystem checks the refusal.
		systemScope = func(f func() error) error { return f() }
	}
}

// runAsSystem acts as SYSTEM for f where it can (an elevated
// administrator on Windows) and refuses where it cannot (wine), rather
// than run f as someone else.
func TestRunAsSystem(t *testing.T) {
	if onWine() {
		err := runAsSystem(func() error {
			t.Error("f ran although no SYSTEM token was found")
			return nil
		})
		if !errors.Is(err, ErrNoSystem) || !strings.Contains(err.Error(), "not SYSTEM") {
			t.Fatalf("runAsSystem under wine = %v, want ErrNoSystem saying services.exe is not SYSTEM", err)
		}
		t.Logf("under wine: %v", err)
		return
	}
	if isSystem(windows.GetCurrentProcessToken()) || !windows.GetCurrentProcessToken().IsElevated() {
		t.Skip("needs an elevated administrator that is not SYSTEM")
	}
	ran := false
	err := runAsSystem(func() error {
		var tok windows.Token
		if err := windows.OpenThreadToken(windows.CurrentThread(), windows.TOKEN_QUERY, true, &tok); err != nil {
			return err
		}
		defer tok.Close()
		if !isSystem(tok) {
			return errors.New("f does not run as SYSTEM")
		}
		ran = true
		return nil
	})
	if err != nil || !ran {
		t.Fatalf("runAsSystem = %v (ran %v)", err, ran)
	}
	var tok windows.Token
	if err := windows.OpenThreadToken(windows.CurrentThread(), windows.TOKEN_QUERY, true, &tok); err == nil {
		tok.Close()
		t.Error("the calling thread impersonates after runAsSystem")
	}
}

// impersonate checks whom the thread really acts as: a token that is not
// SYSTEM's is refused. (Under wine this also shows that SetThreadToken
// works there.)
func TestImpersonateRefusesOtherUser(t *testing.T) {
	if isSystem(windows.GetCurrentProcessToken()) {
		t.Skip("runs as SYSTEM")
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		var own, dup windows.Token
		if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY, &own); err != nil {
			done <- err
			return
		}
		defer own.Close()
		if err := windows.DuplicateTokenEx(own, windows.TOKEN_IMPERSONATE|windows.TOKEN_QUERY, nil,
			windows.SecurityImpersonation, windows.TokenImpersonation, &dup); err != nil {
			done <- err
			return
		}
		defer dup.Close()
		err := impersonate(dup)
		windows.RevertToSelf()
		done <- err
	}()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "not SYSTEM") {
		t.Fatalf("impersonate(own token) = %v, want it refused as not SYSTEM", err)
	}
}

// sealMachineScope seals as warren did before: machine scope, no header.
func sealMachineScope(t *testing.T, name string, plain []byte) []byte {
	t.Helper()
	in := blob(plain)
	var out windows.DataBlob
	if err := windows.CryptProtectData(&in, windows.StringToUTF16Ptr(name), nil, 0, nil,
		windows.CRYPTPROTECT_LOCAL_MACHINE|windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		t.Fatal(err)
	}
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return bytes.Clone(unsafe.Slice(out.Data, out.Size))
}

// A configuration an older warren sealed in machine scope still opens,
// and is sealed again in SYSTEM's scope as it is loaded.
func TestDPAPIMachineScopeBlobResealed(t *testing.T) {
	if !onWine() && !windows.GetCurrentProcessToken().IsElevated() {
		t.Skip("sealing as SYSTEM needs an elevated administrator")
	}
	plain := []byte("[Interface]\nPrivateKey = " + testKey + "\n")
	st, err := OpenStore(filepath.Join(t.TempDir(), "Configurations"))
	if err != nil {
		t.Fatal(err)
	}
	old := sealMachineScope(t, "wg0", plain)
	if !(DPAPI{}).Outdated(old) {
		t.Fatal("a machine-scope blob is not Outdated")
	}
	if err := os.WriteFile(st.Path("wg0"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load("wg0")
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Load of a machine-scope blob = %q, %v", got, err)
	}
	raw, err := os.ReadFile(st.Path("wg0"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte(sealHeader)) || (DPAPI{}).Outdated(raw) {
		t.Errorf("after Load the file still holds the machine-scope blob (%d bytes)", len(raw))
	}
	if got, err := st.Load("wg0"); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Load of the resealed blob = %q, %v", got, err)
	}
	// Sealing writes the header too.
	sealed, err := DPAPI{}.Seal("wg1", plain)
	if err != nil || !bytes.HasPrefix(sealed, []byte(sealHeader)) {
		t.Errorf("Seal = %d bytes, %v; want the SYSTEM-scope header", len(sealed), err)
	}
}

// What DPAPI seals now only SYSTEM opens: the administrator, without
// acting as SYSTEM, cannot; a machine-scope blob anyone can. Windows only:
// wine's DPAPI has no scopes.
func TestDPAPINotMachineScope(t *testing.T) {
	if onWine() {
		t.Skip("wine's CryptProtectData ignores the scope (its blobs are the same either way)")
	}
	if isSystem(windows.GetCurrentProcessToken()) || !windows.GetCurrentProcessToken().IsElevated() {
		t.Skip("needs an elevated administrator that is not SYSTEM")
	}
	plain := []byte("secret")
	sealed, err := DPAPI{}.Seal("wg0", plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := unprotect(sealed[len(sealHeader):]); err == nil {
		t.Error("an administrator not acting as SYSTEM opened a SYSTEM-scope blob")
	}
	if got, _, err := unprotect(sealMachineScope(t, "wg0", plain)); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("control: a machine-scope blob = %q, %v", got, err)
	}
	if got, err := (DPAPI{}).Open("wg0", sealed); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Open as SYSTEM = %q, %v", got, err)
	}
}
