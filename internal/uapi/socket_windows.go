package uapi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// On Windows the UAPI transport is a named pipe, as for wireguard-go and
// WireGuard for Windows: interface NAME is served at
// \\.\pipe\ProtectedPrefix\Administrators\WireGuard\NAME. Only a process
// running as an administrator or SYSTEM may create a pipe under
// ProtectedPrefix\Administrators, so a normal user cannot squat a tunnel's
// name; the pipe is owned by LocalSystem, which wg.exe and Dial insist on,
// and its DACL and label (PipeSecurityDescriptor) let only SYSTEM and
// elevated Administrators connect.
//
// The dir argument of Listen, Dial and Interfaces names a pipe namespace
// rather than a directory (see PipePrefix).

// PipeDir is the named-pipe namespace of WireGuard interfaces on Windows,
// where wg.exe and WireGuard for Windows look for them.
const PipeDir = `\\.\pipe\ProtectedPrefix\Administrators\WireGuard`

// pipeRoot is the prefix of every named pipe's path.
const pipeRoot = `\\.\pipe\`

// privatePipeDir holds the namespaces PipePrefix derives from plain
// directories (tests, WARREN_SOCKET_DIR).
const privatePipeDir = `\\.\pipe\warren`

// dialTimeout bounds how long Dial waits for a busy pipe.
const dialTimeout = 5 * time.Second

// pipeBufferSize is the pipe's in and out buffer: a "get" reply for a few
// hundred peers fits in one go.
const pipeBufferSize = 64 << 10

// PipePrefix maps the dir argument of Listen, Dial and Interfaces to a pipe
// namespace (a path ending in a backslash):
//   - "" and DefaultSocketDir (the unix directory that the wg command set
//     defaults to) mean PipeDir, the protected WireGuard namespace;
//   - a path that begins with \\.\pipe\ is used as it is;
//   - any other directory d gets a private namespace \\.\pipe\warren\D\,
//     where D is d made absolute with its separators as backslashes. Such a
//     namespace is not under ProtectedPrefix (so a client checks who owns
//     the pipe, see Dial), but its pipes carry the same DACL
//     (PrivatePipeSecurityDescriptor). Tests use it to serve interfaces of
//     their own.
func PipePrefix(dir string) string {
	switch {
	case dir == "" || dir == DefaultSocketDir:
		return PipeDir + `\`
	case hasPrefixFold(dir, pipeRoot):
		return strings.TrimRight(dir, `\/`) + `\`
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	d := strings.ReplaceAll(filepath.Clean(dir), "/", `\`)
	return privatePipeDir + `\` + strings.TrimRight(d, `\`) + `\`
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// inPipeDir reports whether the pipe at path is in PipeDir, WireGuard's
// namespace, where pipes are owned by LocalSystem.
func inPipeDir(path string) bool { return hasPrefixFold(path, PipeDir+`\`) }

// pipePath is the pipe serving interface name in dir's namespace.
func pipePath(dir, name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	// Besides Linux's rules, a backslash would reach into another namespace.
	if strings.Contains(name, `\`) {
		return "", fmt.Errorf("%w: %q contains a backslash", ErrInvalidName, name)
	}
	return PipePrefix(dir) + name, nil
}

// Listen serves interface name on its named pipe in dir's namespace (see
// PipePrefix): in PipeDir with PipeSecurityDescriptor (owner LocalSystem),
// elsewhere with PrivatePipeSecurityDescriptor. A pipe of that name that
// already has a server makes Listen fail with ErrSocketInUse. In PipeDir, a
// caller that is not an administrator, or that is neither SYSTEM nor holds
// SeRestorePrivilege (which assigning SYSTEM as owner takes), gets an error
// matching fs.ErrPermission. Closing the listener removes the pipe once its
// connections are closed too.
func Listen(dir, name string) (net.Listener, error) {
	path, err := pipePath(dir, name)
	if err != nil {
		return nil, fmt.Errorf("uapi: listen: %w", err)
	}
	// Creating the pipe's first instance fails if it exists, but not on every
	// implementation of the API (wine's creates another instance); ask first.
	if pipeExists(path) {
		return nil, fmt.Errorf("uapi: listen %s: %w", path, ErrSocketInUse)
	}
	sddl, claimOwner := PrivatePipeSecurityDescriptor, false
	if inPipeDir(path) {
		sddl, claimOwner = PipeSecurityDescriptor, true
	}
	l, err := listenPipe(path, sddl, claimOwner)
	if err != nil {
		// FILE_FLAG_FIRST_PIPE_INSTANCE gives access denied if the pipe
		// exists (it appeared since we asked); so does ProtectedPrefix to a
		// caller that is not an administrator.
		switch {
		case errors.Is(err, windows.ERROR_ACCESS_DENIED) && inPipeDir(path) && !pipeExists(path):
			err = fmt.Errorf("%w: only an elevated administrator or SYSTEM may serve %s", fs.ErrPermission, PipeDir)
		case errors.Is(err, windows.ERROR_INVALID_OWNER) || errors.Is(err, errNoRestorePrivilege):
			err = fmt.Errorf("%w: pipes in %s must be owned by LocalSystem (wg.exe accepts no other owner), which only SYSTEM or a process holding SeRestorePrivilege may assign: %w", fs.ErrPermission, PipeDir, err)
		case errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_ALREADY_EXISTS) || errors.Is(err, windows.ERROR_PIPE_BUSY):
			err = fmt.Errorf("%w: %w", ErrSocketInUse, err)
		}
		return nil, fmt.Errorf("uapi: listen %s: %w", path, err)
	}
	return l, nil
}

// Dial connects to the named pipe of interface name in dir's namespace. A
// missing pipe gives an error matching fs.ErrNotExist. A pipe in PipeDir
// must be owned by LocalSystem, as wg.exe requires (not the
// Administrators: any elevated process could have made it); one in a
// private namespace by SYSTEM, the Administrators or the calling user. A
// pipe owned by anybody else is refused with fs.ErrPermission before a
// byte is sent, so that no key is handed to an impostor.
func Dial(dir, name string) (net.Conn, error) {
	path, err := pipePath(dir, name)
	if err != nil {
		return nil, fmt.Errorf("uapi: dial: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	c, err := winio.DialPipeContext(ctx, path)
	if err != nil {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
			err = fmt.Errorf("%w: %w", fs.ErrNotExist, err)
		}
		return nil, fmt.Errorf("uapi: dial %s: %w", name, err)
	}
	if err := checkPipeOwner(c, inPipeDir(path)); err != nil {
		c.Close()
		return nil, fmt.Errorf("uapi: dial %s: %w", name, err)
	}
	return c, nil
}

// checkPipeOwner refuses a pipe whose owner is not LocalSystem (in
// PipeDir: wireguardNamespace) or, elsewhere, not SYSTEM, the
// Administrators or the calling user.
func checkPipeOwner(c net.Conn, wireguardNamespace bool) error {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return fmt.Errorf("pipe connection %T has no handle", c)
	}
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_KERNEL_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("pipe owner: %w", err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("pipe owner: %w", err)
	}
	switch {
	case owner.IsWellKnown(windows.WinLocalSystemSid):
		return nil
	case wireguardNamespace:
		return fmt.Errorf("%w: pipe owned by %s, not LocalSystem (S-1-5-18)", fs.ErrPermission, owner)
	case owner.IsWellKnown(windows.WinBuiltinAdministratorsSid) || isSelf(owner):
		return nil
	}
	return fmt.Errorf("%w: pipe owned by %s, not SYSTEM, Administrators or the caller", fs.ErrPermission, owner)
}

// isSelf reports whether sid is the calling user or the default owner of
// the objects it creates (which is what a pipe of its own is owned by).
func isSelf(sid *windows.SID) bool {
	token := windows.GetCurrentProcessToken()
	if u, err := token.GetTokenUser(); err == nil && sid.Equals(u.User.Sid) {
		return true
	}
	var n uint32
	windows.GetTokenInformation(token, windows.TokenOwner, nil, 0, &n)
	if n == 0 {
		return false
	}
	buf := make([]byte, n)
	if err := windows.GetTokenInformation(token, windows.TokenOwner, &buf[0], n, &n); err != nil {
		return false
	}
	// TOKEN_OWNER is a single pointer to the owner's SID, within buf.
	owner := *(**windows.SID)(unsafe.Pointer(&buf[0]))
	return sid.Equals(owner)
}

// pipeExists reports whether a server has the pipe at path open. A pipe
// whose instances are all busy, or that this process may not open, exists.
func pipeExists(path string) bool {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return false
	}
	h, err := windows.CreateFile(p, 0, 0, nil, windows.OPEN_EXISTING, 0, 0)
	if err == nil {
		windows.CloseHandle(h)
		return true
	}
	return !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) && !errors.Is(err, windows.ERROR_PATH_NOT_FOUND)
}

// Interfaces lists the interfaces served in dir's namespace (see
// PipePrefix), sorted. Pipes whose remaining name is not a valid interface
// name (or reaches into a deeper namespace) are skipped.
func Interfaces(dir string) ([]string, error) {
	prefix := PipePrefix(dir)[len(pipeRoot):]
	pipes, err := listPipes()
	if err != nil {
		return nil, fmt.Errorf("uapi: list interfaces: %w", err)
	}
	var names []string
	for _, p := range pipes {
		if !hasPrefixFold(p, prefix) {
			continue
		}
		name := p[len(prefix):]
		if strings.Contains(name, `\`) || ValidName(name) != nil {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// listPipes returns the names (without \\.\pipe\) of every named pipe on
// the machine.
func listPipes() ([]string, error) {
	pattern, err := windows.UTF16PtrFromString(pipeRoot + "*")
	if err != nil {
		return nil, err
	}
	var fd windows.Win32finddata
	h, err := windows.FindFirstFile(pattern, &fd)
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("enumerate %s: %w", pipeRoot, err)
	}
	defer windows.FindClose(h)
	var names []string
	for {
		names = append(names, windows.UTF16ToString(fd.FileName[:]))
		if err := windows.FindNextFile(h, &fd); err != nil {
			if errors.Is(err, windows.ERROR_NO_MORE_FILES) {
				return names, nil
			}
			return nil, fmt.Errorf("enumerate %s: %w", pipeRoot, err)
		}
	}
}
