package uapi

import (
	"fmt"
	"strings"
)

// DefaultSocketDir is where wg(8) looks for userspace interfaces' sockets.
const DefaultSocketDir = "/var/run/wireguard"

// maxNameLen is IFNAMSIZ (16) less the terminating NUL.
const maxNameLen = 15

// ValidName checks an interface name against the Linux kernel's rules
// (dev_valid_name): 1 to 15 bytes, not "." or "..", and no '/', ':', NUL or
// white space. The same rules keep a name safe to use as a socket file name.
// warren also refuses a name that starts with '-', which the kernel allows
// but every tool that takes it as an argument would read as an option.
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: %q is longer than %d bytes", ErrInvalidName, name, maxNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	case name[0] == '-':
		return fmt.Errorf("%w: %q starts with '-'", ErrInvalidName, name)
	case strings.ContainsAny(name, "/:\x00 \t\n\v\f\r"):
		return fmt.Errorf("%w: %q contains '/', ':', NUL or white space", ErrInvalidName, name)
	}
	return nil
}

func unknownErrnoText(n int64) string { return fmt.Sprintf("errno %d", n) }
