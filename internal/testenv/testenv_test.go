package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissingFailsInCI runs a child test that lacks a tool, with and
// without CI set: it skips outside CI and fails in CI.
func TestMissingFailsInCI(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") != "" {
		RequireTool(t, "warren-no-such-tool", "nothing")
		return
	}
	for _, ci := range []string{"", "true"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingFailsInCI$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+ci)
		out, err := cmd.CombinedOutput()
		switch {
		case ci == "" && (err != nil || !strings.Contains(string(out), "--- SKIP")):
			t.Errorf("outside CI: %v\n%s", err, out)
		case ci != "" && (err == nil || !strings.Contains(string(out), "CI must run this test")):
			t.Errorf("in CI: %v\n%s", err, out)
		}
	}
}
