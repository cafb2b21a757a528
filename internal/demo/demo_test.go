package demo

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/testenv"
)

func TestDemo(t *testing.T) {
	testenv.CheckGoroutines(t)
	var out, errOut bytes.Buffer
	if code := Main("warren demo", []string{"--size", "8"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"[1/4] handshake ........ ok", "[2/4] web request ...... ok", "hello from bob",
		"[3/4] transfer ......... ok, 8 MiB", "SHA-256 matches", "interface: alice", "interface: bob",
		"latest handshake:", "All steps passed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "private key: ") && !strings.Contains(out.String(), "private key: (hidden)") {
		t.Error("a private key was printed")
	}
	t.Logf("\n%s", out.String())
}

// TestDemoUsage: the help says --size MIB, on stdout; a bad command line
// is one line saying what is wrong (the flag as the user wrote it), then
// the usage line, and exit 2; nothing runs.
func TestDemoUsage(t *testing.T) {
	for _, flag := range []string{"-h", "--help"} {
		var out, errOut bytes.Buffer
		if code := Main("warren demo", []string{flag}, &out, &errOut); code != exitOK || errOut.Len() != 0 ||
			!strings.HasPrefix(out.String(), "Usage: warren demo [--size MIB]\n") ||
			!strings.Contains(out.String(), "  --size MIB   size of the transfer, in MiB, from 1 to 16384 (default 64)") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", flag, code, out.String(), errOut.String())
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"extra"}, `unexpected argument "extra": the demo takes none but --size MIB`},
		{[]string{"--size", "8", "extra"}, `unexpected argument "extra"`},
		{[]string{"--size", "0"}, `--size "0": the size of the transfer must be a whole number of MiB from 1 to 16384`},
		{[]string{"--size", "x"}, `--size "x": the size`},
		{[]string{"--size=1.5"}, `--size "1.5": the size`},
		{[]string{"--size", "16385"}, `--size "16385": the size`},
		{[]string{"--size"}, `--size needs a value`},
		{[]string{"--bogus"}, `unknown flag --bogus`},
		{[]string{"--bogus=1"}, `unknown flag --bogus`},
	} {
		var out, errOut bytes.Buffer
		code := Main("warren demo", tc.args, &out, &errOut)
		want := "warren demo: " + tc.want
		lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
		if code != exitUsage || out.Len() != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], want) ||
			lines[1] != "Usage: warren demo [--size MIB]" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %q and the usage line", tc.args, code, out.String(), errOut.String(), want)
		}
	}
}

// TestDemoUnprivileged runs the demo as uid 65534 (nobody), so that
// "rootless" is proven rather than assumed. It needs root and setpriv.
func TestDemoUnprivileged(t *testing.T) {
	if os.Getenv("WARREN_DEMO_CHILD") == "1" {
		os.Exit(Main("warren demo", []string{"--size", "4"}, os.Stdout, os.Stderr))
	}
	cmd := testenv.AsNobody(context.Background(), t, "-test.run=^TestDemoUnprivileged$")
	cmd.Env = []string{"WARREN_DEMO_CHILD=1", "PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "All steps passed") {
		t.Fatalf("output:\n%s", out)
	}
}
