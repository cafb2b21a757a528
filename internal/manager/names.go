package manager

import (
	"fmt"
	"regexp"

	"github.com/warren-vpn/warren/internal/uapi"
)

// tunnelName is wg-quick's pattern for an interface name that is also a
// file name (NAME.conf).
var tunnelName = regexp.MustCompile(`^[a-zA-Z0-9_=+.-]{1,15}$`)

// ValidName checks a tunnel name: what wg-quick accepts as NAME in
// NAME.conf (1 to 15 of a-z A-Z 0-9 _ = + . -) and what the kernel and
// UAPI accept as an interface name (not "." or "..", not starting with
// '-'). Such a name is safe as a file name and in a URL path segment.
func ValidName(name string) error {
	if !tunnelName.MatchString(name) {
		return fmt.Errorf("%w: %q: want 1 to 15 of a-z, A-Z, 0-9, '_', '=', '+', '.', '-'", ErrBadName, name)
	}
	if err := uapi.ValidName(name); err != nil {
		return fmt.Errorf("%w: %w", ErrBadName, err)
	}
	return nil
}
