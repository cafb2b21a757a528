package selftest

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMainHelp: -h prints the usage to stdout and returns before Run, so
// it creates nothing and needs no privileges.
func TestMainHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		var out, errOut bytes.Buffer
		if code := Main("warren selftest", []string{arg}, &out, &errOut); code != exitOK {
			t.Errorf("%s: exit status %d", arg, code)
		}
		if errOut.Len() != 0 {
			t.Errorf("%s: stderr %q", arg, errOut.String())
		}
		for _, w := range []string{"Usage: warren selftest", "198.18.0.0/15", "fd00::/8", "Exit status 0"} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: usage lacks %q:\n%s", arg, w, out.String())
			}
		}
		flag := map[string]string{"linux": "-netns", "windows": "-kill-switch"}[runtime.GOOS]
		if flag != "" && !strings.Contains(out.String(), flag) {
			t.Errorf("usage lacks %s:\n%s", flag, out.String())
		}
		if strings.Contains(out.String(), "PASS") || strings.Contains(out.String(), "FAIL") {
			t.Errorf("%s ran checks:\n%s", arg, out.String())
		}
	}
}

func TestMainUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"extra"}, {"--no-such-flag"}, {"--netns"}} {
		var out, errOut bytes.Buffer
		if code := Main("warren selftest", args, &out, &errOut); code != exitUsage {
			t.Errorf("%q: exit status %d, want %d", args, code, exitUsage)
		}
		if !strings.Contains(errOut.String(), "Usage:") || out.Len() != 0 {
			t.Errorf("%q: stdout %q, stderr %q", args, out.String(), errOut.String())
		}
	}
}

func TestReportText(t *testing.T) {
	rep := &Report{
		Checks: []Check{
			{Name: "one", Status: Pass, Detail: "saw it", Took: 1500 * time.Microsecond},
			{Name: "two", Status: Fail, Detail: "line 1\nline 2", Err: errors.New("x")},
			{Name: "three", Status: Skip, Detail: "not run"},
		},
		Facts: []Fact{{"os", "Example OS"}, {"MTU", "1420"}},
	}
	var buf bytes.Buffer
	if _, err := rep.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	for _, w := range []string{
		"  PASS  one                        saw it (2ms)\n",
		"  FAIL  two                        line 1\n                                   line 2\n",
		"  SKIP  three                      not run\n",
		"  os                         Example OS\n",
		"Result: FAILED: 1 of 3 checks failed: two.\n",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("report lacks %q:\n%s", w, got)
		}
	}
	if rep.OK() {
		t.Error("OK with a failed check")
	}
	rep.Checks[1].Status = Pass
	buf.Reset()
	rep.WriteTo(&buf)
	if !rep.OK() || !strings.Contains(buf.String(), "Result: all 2 checks that ran passed (1 skipped: three).") {
		t.Errorf("OK=%v:\n%s", rep.OK(), buf.String())
	}
	rep.Interrupted = true
	if rep.OK() {
		t.Error("OK although interrupted")
	}
}
