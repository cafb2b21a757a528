package quick

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runAs runs the command set as prog with effective uid euid.
func runAs(prog string, euid int, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	env := newEnv(prog, &o, &e)
	env.geteuid = func() int { return euid }
	code = env.main(args)
	return code, o.String(), e.String()
}

// TestHelpEveryCommand: each command answers -h and --help with the usage
// on stdout and exit 0, before anything else (no root needed).
func TestHelpEveryCommand(t *testing.T) {
	for _, prog := range []string{"warren", "wg-quick"} {
		for _, cmd := range []string{"up", "down", "save", "strip"} {
			for _, flag := range []string{"-h", "--help"} {
				code, out, errOut := runAs(prog, 1000, cmd, flag)
				if code != 0 || errOut != "" || !strings.HasPrefix(out, "Usage: "+prog+" [ up | down | save | strip ]") {
					t.Errorf("%s %s %s: exit %d, stdout %q, stderr %q", prog, cmd, flag, code, out, errOut)
				}
			}
		}
	}
}

// TestErrorsSaidOnce: each error is one line that names the program and
// command once ("warren up: ...", or "wg-quick: ..." as wg-quick's), never
// "warren: warren up: ...".
func TestErrorsSaidOnce(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "wg0.conf")
	broken := filepath.Join(dir, "wg1.conf")
	if err := os.WriteFile(broken, []byte("[Interface]\nMTU = big\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		prog string
		euid int
		args []string
		want string
	}{
		{"warren", 1000, []string{"up", "wg0"}, "warren up: must be run as root\n"},
		{"warren", 1000, []string{"down", "wg0"}, "warren down: must be run as root\n"},
		{"warren", 1000, []string{"save", "wg0"}, "warren save: must be run as root\n"},
		{"wg-quick", 1000, []string{"up", "wg0"}, "wg-quick: must be run as root\n"},
		{"warren", 0, []string{"up", missing}, "warren up: `" + missing + "' does not exist\n"},
		{"warren", 1000, []string{"strip", missing}, "warren strip: `" + missing + "' does not exist\n"},
		{"wg-quick", 0, []string{"down", missing}, "wg-quick: `" + missing + "' does not exist\n"},
		{"warren", 1000, []string{"strip", broken}, "warren strip: " + broken + ":2: "},
		{"warren", 0, []string{"up"}, "warren up: expects a CONFIG_FILE or INTERFACE\n\nUsage: warren [ up"},
		{"warren", 0, []string{"strip", "a", "b"}, "warren strip: expects one CONFIG_FILE or INTERFACE, not 2 arguments\n\nUsage:"},
	} {
		code, out, errOut := runAs(tc.prog, tc.euid, tc.args...)
		if code != 1 || out != "" || !strings.HasPrefix(errOut, tc.want) {
			t.Errorf("%s %q: exit %d, stdout %q, stderr %q; want stderr starting %q", tc.prog, tc.args, code, out, errOut, tc.want)
		}
		if first, _, _ := strings.Cut(errOut, "\n"); strings.Count(first, tc.prog) != 1 {
			t.Errorf("%s %q: %q names the program more than once", tc.prog, tc.args, first)
		}
	}
}

// TestStripNeverAddsInterface: a file of peers alone strips to itself (and
// echo's newline), without an empty [Interface].
func TestStripNeverAddsInterface(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wg2.conf")
	text := "# peers only\n[Peer]\nPublicKey = " + testPub + "\nAllowedIPs = 10.0.0.0/24\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runAs("warren", 1000, "strip", path)
	if code != 0 || out != text+"\n" {
		t.Errorf("strip: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, text+"\n")
	}
}
