package daemon

import (
	"bytes"
	"net"
	"strings"
	"testing"
)

// TestBadInlineBatch: a malformed WARREN_INLINE_BATCH fails the daemon at
// once, naming the variable, before any interface is created.
func TestBadInlineBatch(t *testing.T) {
	t.Setenv("WARREN_INLINE_BATCH", "lots")
	var out, errb bytes.Buffer
	const iface = "wrinl0"
	if code := Main("warren daemon", []string{"-f", iface}, &out, &errb); code == 0 {
		t.Fatal("exit code 0 with WARREN_INLINE_BATCH=lots")
	}
	if !strings.Contains(errb.String(), `WARREN_INLINE_BATCH="lots"`) {
		t.Errorf("stderr = %q, want it to name WARREN_INLINE_BATCH", errb.String())
	}
	if _, err := net.InterfaceByName(iface); err == nil {
		t.Errorf("interface %s exists after the failed start", iface)
	}
}
