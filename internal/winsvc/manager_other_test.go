//go:build !windows

package winsvc

import (
	"bytes"
	"strings"
	"testing"
)

func TestManagerServiceWindowsOnly(t *testing.T) {
	for _, args := range [][]string{{"install"}, {"uninstall"}, {"run"}} {
		var stdout, stderr bytes.Buffer
		code := ManagerMain("warren manager", args, ManagerOptions{}, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "Windows-only") || stdout.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout.String(), stderr.String())
		}
	}
	var stderr bytes.Buffer
	if code := ManagerMain("warren manager", []string{"install", "--state", "/x"}, ManagerOptions{}, &bytes.Buffer{}, &stderr); code != 1 || !strings.Contains(stderr.String(), "fixed") || !strings.Contains(stderr.String(), "manager install") {
		t.Errorf("install --state: exit %d, stderr %q", code, stderr.String())
	}
}
