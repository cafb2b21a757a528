//go:build !windows

package winsvc

import (
	"bytes"
	"strings"
	"testing"
)

func TestLogWindowsOnly(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main("warren", []string{"log", "-n", "wg0"}, Options{}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "Windows-only") || stdout.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
