package proxy

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/warren-vpn/warren/internal/uapi"
)

// TestSocketDirFor: XDG_RUNTIME_DIR/warren when set (root's too), the
// system's directory for root without it, and an error for anyone else.
func TestSocketDirFor(t *testing.T) {
	env := func(rt string) func(string) string {
		return func(k string) string {
			if k == "XDG_RUNTIME_DIR" {
				return rt
			}
			return ""
		}
	}
	for _, tc := range []struct {
		rt      string
		euid    int
		dir     string
		private bool
		err     error
	}{
		{"/run/user/1000", 1000, filepath.Join("/run/user/1000", "warren"), true, nil},
		{"/run/user/0", 0, filepath.Join("/run/user/0", "warren"), true, nil},
		{"", 0, uapi.DefaultSocketDir, false, nil},
		{"", 1000, "", false, ErrNoRuntimeDir},
		{"", -1, "", false, ErrNoRuntimeDir}, // Windows
	} {
		dir, private, err := socketDirFor(env(tc.rt), tc.euid)
		if dir != tc.dir || private != tc.private || !errors.Is(err, tc.err) {
			t.Errorf("XDG_RUNTIME_DIR=%q euid %d: %q, %v, %v; want %q, %v, %v", tc.rt, tc.euid, dir, private, err, tc.dir, tc.private, tc.err)
		}
	}
	if uapi.DefaultSocketDir != "/var/run/wireguard" {
		t.Errorf("uapi.DefaultSocketDir is %q; wg(8) looks in /var/run/wireguard", uapi.DefaultSocketDir)
	}
}
