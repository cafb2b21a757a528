package winacl

import (
	"errors"
	"fmt"
	"strings"
)

// ErrPath: a path that is not an absolute Windows path.
var ErrPath = errors.New("not an absolute Windows path")

// Reader returns the security descriptor of a file or folder in SDDL, with
// at least its owner and DACL (on Windows: GetNamedSecurityInfo with
// OWNER_SECURITY_INFORMATION|DACL_SECURITY_INFORMATION, then String).
type Reader func(path string) (string, error)

// Chain is file with every folder above it, up to the volume's root, each
// with its role: the file (Target), its folder (Folder), then Ancestors.
// file must be an absolute Windows path: "C:\dir\file", "\\?\C:\dir\file",
// "\\server\share\dir\file" or "\\?\UNC\server\share\dir\file"; forward
// slashes are taken as backslashes. A "." or ".." in it is refused rather
// than resolved.
func Chain(file string) ([]string, error) {
	p := strings.ReplaceAll(file, "/", `\`)
	root, rest, err := splitRoot(p)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", file, err)
	}
	var parts []string
	for _, c := range strings.Split(rest, `\`) {
		switch c {
		case "":
			continue
		case ".", "..":
			return nil, fmt.Errorf("%q: %w (it holds %q)", file, ErrPath, c)
		}
		parts = append(parts, c)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("%q: %w (it names a volume, not a file)", file, ErrPath)
	}
	out := make([]string, 0, len(parts)+1)
	for i := len(parts); i > 0; i-- {
		out = append(out, root+strings.Join(parts[:i], `\`))
	}
	return append(out, root), nil
}

// splitRoot splits a path into its root, ending in a backslash ("C:\",
// "\\?\C:\", "\\server\share\"), and the rest.
func splitRoot(p string) (root, rest string, err error) {
	prefix := ""
	switch {
	case strings.HasPrefix(p, `\\?\UNC\`):
		prefix, p = `\\?\UNC\`, p[len(`\\?\UNC\`):]
		return uncRoot(prefix, p)
	case strings.HasPrefix(p, `\\?\`) || strings.HasPrefix(p, `\??\`):
		prefix, p = p[:4], p[4:]
	case strings.HasPrefix(p, `\\.\`):
		return "", "", fmt.Errorf("%w (a device path)", ErrPath)
	case strings.HasPrefix(p, `\\`):
		return uncRoot(`\\`, p[2:])
	}
	if len(p) >= 3 && isLetter(p[0]) && p[1] == ':' && p[2] == '\\' {
		return prefix + strings.ToUpper(p[:1]) + `:\`, p[3:], nil
	}
	return "", "", ErrPath
}

func uncRoot(prefix, p string) (string, string, error) {
	server, rest, ok := strings.Cut(p, `\`)
	share, rest, _ := strings.Cut(rest, `\`)
	if !ok || server == "" || share == "" {
		return "", "", fmt.Errorf("%w (a UNC path needs a server and a share)", ErrPath)
	}
	return prefix + server + `\` + share + `\`, rest, nil
}

// StripExtendedPrefix drops the `\\?\` of an extended-length drive path
// (`\\?\C:\dir` becomes `C:\dir`), which not every Windows API (the DLL
// loader) takes; any other path is returned as it is.
func StripExtendedPrefix(p string) string {
	if rest, ok := strings.CutPrefix(p, `\\?\`); ok && len(rest) > 2 && rest[1] == ':' {
		return rest
	}
	return p
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func baseName(p string) string {
	p = strings.TrimRight(strings.ReplaceAll(p, "/", `\`), `\`)
	if i := strings.LastIndexByte(p, '\\'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// CheckPath refuses file when it, its folder or any folder above it can be
// changed by a principal outside Trusted: the error is a *WritableError
// (matching ErrWritable) about the first such object from the file up, and
// names its principal with name (nil: WellKnownName). read supplies each
// object's descriptor; a descriptor that cannot be read or parsed fails the
// check, with the reason.
func CheckPath(file string, read Reader, name func(sid string) string) error {
	chain, err := Chain(file)
	if err != nil {
		return err
	}
	for i, p := range chain {
		role := Ancestor
		switch i {
		case 0:
			role = Target
		case 1:
			role = Folder
		}
		text, err := read(p)
		if err != nil {
			return fmt.Errorf("read the permissions of %s: %w", p, err)
		}
		sd, err := Parse(text)
		if err != nil {
			return fmt.Errorf("permissions of %s: %w", p, err)
		}
		if ws := Writers(sd, role); len(ws) > 0 {
			e := &WritableError{File: file, Path: p, Role: role, Grant: ws[0]}
			if name != nil && ws[0].SID != "" {
				e.Name = name(ws[0].SID)
			}
			return e
		}
	}
	return nil
}
