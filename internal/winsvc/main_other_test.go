//go:build !windows

package winsvc

import (
	"bytes"
	"strings"
	"testing"
)

func TestWindowsOnly(t *testing.T) {
	for _, args := range [][]string{{"service", "list"}, {"import", "wg0.conf"}, {"export", "wg0"}} {
		var stdout, stderr bytes.Buffer
		code := Main("warren", args, Options{}, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "Windows-only") || stdout.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout.String(), stderr.String())
		}
	}
	var stderr bytes.Buffer
	if code := Main("warren", []string{"service", "frob"}, Options{}, &bytes.Buffer{}, &stderr); code != 1 || !strings.Contains(stderr.String(), "Usage:") {
		t.Errorf("bad command: exit %d, stderr %q", code, stderr.String())
	}
}
