package winsvc

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// ErrNoSystem: warren could not act as SYSTEM, which it needs to seal or
// open a stored configuration outside the service.
var ErrNoSystem = errors.New("cannot act as SYSTEM")

// systemScope runs f as the SYSTEM account: runAsSystem. Tests under wine,
// which has no SYSTEM account (every process runs as the one user),
// replace it.
var systemScope = runAsSystem

// systemProcesses are the processes whose token runAsSystem borrows, in
// the order it tries them: each runs as SYSTEM on every Windows.
var systemProcesses = []string{"winlogon.exe", "services.exe", "wininit.exe"}

// runAsSystem runs f with the SYSTEM account's identity. A process already
// running as SYSTEM (the tunnel service) just runs f. Otherwise (an
// elevated administrator's `warren import`, `export`, `service install`),
// f runs on a new OS thread that impersonates SYSTEM: SeDebugPrivilege is
// enabled on the thread, the token of a process that runs as SYSTEM
// (systemProcesses) is duplicated and set on the thread, and the
// thread's token is then checked to be SYSTEM's at impersonation level
// before f runs. The thread reverts afterwards and is never handed back
// to Go's scheduler, so no other goroutine ever runs as SYSTEM.
func runAsSystem(f func() error) error {
	if isSystem(windows.GetCurrentProcessToken()) {
		return f()
	}
	done := make(chan error, 1)
	go func() {
		// Locked and never unlocked: the thread exits with this goroutine.
		runtime.LockOSThread()
		if err := impersonateSystem(); err != nil {
			windows.RevertToSelf()
			done <- fmt.Errorf("%w: %w (run from an elevated administrator prompt)", ErrNoSystem, err)
			return
		}
		err := f()
		if rerr := windows.RevertToSelf(); rerr != nil && err == nil {
			err = fmt.Errorf("stop acting as SYSTEM: %w", rerr)
		}
		done <- err
	}()
	return <-done
}

// isSystem reports a token of the SYSTEM account.
func isSystem(t windows.Token) bool {
	u, err := t.GetTokenUser()
	return err == nil && u.User.Sid.IsWellKnown(windows.WinLocalSystemSid)
}

// impersonateSystem makes the calling (locked) thread impersonate SYSTEM.
func impersonateSystem() error {
	if err := enableThreadPrivilege("SeDebugPrivilege"); err != nil {
		return err
	}
	var tried []string
	for _, name := range systemProcesses {
		pids, err := processesNamed(name)
		if err != nil {
			return err
		}
		for _, pid := range pids {
			tok, err := systemToken(pid)
			if err != nil {
				tried = append(tried, fmt.Sprintf("%s (%d): %v", name, pid, err))
				continue
			}
			err = impersonate(tok)
			tok.Close()
			if err != nil {
				return err
			}
			return nil
		}
		if len(pids) == 0 {
			tried = append(tried, name+": not running")
		}
	}
	return fmt.Errorf("no SYSTEM process to borrow a token from (%s)", strings.Join(tried, "; "))
}

// enableThreadPrivilege gives the thread an impersonation token of the
// process's own and enables privilege on it (an elevated administrator
// holds SeDebugPrivilege, disabled).
func enableThreadPrivilege(privilege string) error {
	if err := windows.ImpersonateSelf(windows.SecurityImpersonation); err != nil {
		return fmt.Errorf("ImpersonateSelf: %w", err)
	}
	var t windows.Token
	if err := windows.OpenThreadToken(windows.CurrentThread(), windows.TOKEN_ADJUST_PRIVILEGES|windows.TOKEN_QUERY, false, &t); err != nil {
		return fmt.Errorf("open thread token: %w", err)
	}
	defer t.Close()
	p := windows.Tokenprivileges{PrivilegeCount: 1}
	p.Privileges[0].Attributes = windows.SE_PRIVILEGE_ENABLED
	if err := windows.LookupPrivilegeValue(nil, windows.StringToUTF16Ptr(privilege), &p.Privileges[0].Luid); err != nil {
		return fmt.Errorf("look up %s: %w", privilege, err)
	}
	if err := windows.AdjustTokenPrivileges(t, false, &p, uint32(unsafe.Sizeof(p)), nil, nil); err != nil {
		return fmt.Errorf("enable %s: %w", privilege, err)
	}
	return nil
}

// processesNamed lists the ids of running processes with that image name.
func processesNamed(name string) ([]uint32, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	defer windows.CloseHandle(snap)
	var pids []uint32
	e := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		if strings.EqualFold(windows.UTF16ToString(e.ExeFile[:]), name) {
			pids = append(pids, e.ProcessID)
		}
	}
	return pids, nil
}

// systemToken duplicates process pid's token for impersonation, if that
// token is SYSTEM's.
func systemToken(pid uint32) (windows.Token, error) {
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return 0, fmt.Errorf("open process: %w", err)
	}
	defer windows.CloseHandle(p)
	var t windows.Token
	if err := windows.OpenProcessToken(p, windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY, &t); err != nil {
		return 0, fmt.Errorf("open its token: %w", err)
	}
	defer t.Close()
	if !isSystem(t) {
		return 0, fmt.Errorf("runs as %s, not SYSTEM", tokenUser(t))
	}
	var dup windows.Token
	if err := windows.DuplicateTokenEx(t, windows.TOKEN_IMPERSONATE|windows.TOKEN_QUERY, nil,
		windows.SecurityImpersonation, windows.TokenImpersonation, &dup); err != nil {
		return 0, fmt.Errorf("duplicate its token: %w", err)
	}
	return dup, nil
}

// impersonate sets t on the calling thread and checks that the thread
// now really acts as SYSTEM, at impersonation level (an identification
// token would let DPAPI run as the administrator instead).
func impersonate(t windows.Token) error {
	if err := windows.SetThreadToken(nil, t); err != nil {
		return fmt.Errorf("set thread token: %w", err)
	}
	var got windows.Token
	if err := windows.OpenThreadToken(windows.CurrentThread(), windows.TOKEN_QUERY, true, &got); err != nil {
		return fmt.Errorf("open thread token: %w", err)
	}
	defer got.Close()
	if !isSystem(got) {
		return fmt.Errorf("the thread acts as %s, not SYSTEM", tokenUser(got))
	}
	var level uint32
	var n uint32
	if err := windows.GetTokenInformation(got, windows.TokenImpersonationLevel, (*byte)(unsafe.Pointer(&level)), uint32(unsafe.Sizeof(level)), &n); err != nil {
		return fmt.Errorf("impersonation level: %w", err)
	}
	if level < windows.SecurityImpersonation {
		return fmt.Errorf("impersonation level %d, want %d or more", level, windows.SecurityImpersonation)
	}
	return nil
}

// tokenUser is the SID of a token's user, for messages.
func tokenUser(t windows.Token) string {
	u, err := t.GetTokenUser()
	if err != nil {
		return "an unknown user"
	}
	return u.User.Sid.String()
}
