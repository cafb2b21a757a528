package quick

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/testenv"
)

func TestCheckHookSource(t *testing.T) {
	tests := []struct {
		name     string
		root     bool
		fileMode os.FileMode
		dirMode  os.FileMode
		chown    string // "file" or "dir": give it to uid 12345
		ok       bool
		want     string
	}{
		{name: "private", fileMode: 0o600, dirMode: 0o700, ok: true},
		{name: "world-readable", fileMode: 0o644, dirMode: 0o755, ok: true},
		{name: "group-writable file", fileMode: 0o664, dirMode: 0o755, want: "the file can be written"},
		{name: "world-writable file", fileMode: 0o646, dirMode: 0o755, want: "the file can be written"},
		{name: "world-writable directory", fileMode: 0o600, dirMode: 0o777, want: "can be replaced"},
		{name: "sticky directory", fileMode: 0o600, dirMode: 0o777 | os.ModeSticky, ok: true},
		{name: "another user's file", root: true, fileMode: 0o600, dirMode: 0o755, chown: "file", want: "belongs to uid 12345"},
		{name: "another user's directory", root: true, fileMode: 0o600, dirMode: 0o755, chown: "dir", want: "belongs to uid 12345"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				testenv.RequireRoot(t)
			}
			dir := filepath.Join(t.TempDir(), "d")
			os.Mkdir(dir, 0o700)
			path := filepath.Join(dir, "wg0.conf")
			os.WriteFile(path, []byte("[Interface]\n"), 0o600)
			os.Chmod(path, tt.fileMode)
			os.Chmod(dir, tt.dirMode)
			switch tt.chown {
			case "file":
				os.Chown(path, 12345, 12345)
			case "dir":
				os.Chown(dir, 12345, 12345)
			}
			err := checkHookSource(path, 1)
			if tt.ok {
				if err != nil {
					t.Errorf("checkHookSource = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrHookSource) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("checkHookSource = %v, want ErrHookSource saying %q", err, tt.want)
			}
			// Without hooks there is nothing to refuse.
			if err := checkHookSource(path, 0); err != nil {
				t.Errorf("checkHookSource without hooks = %v", err)
			}
		})
	}
}
