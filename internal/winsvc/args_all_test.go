package winsvc

import (
	"errors"
	"strings"
	"testing"
)

// `warren service uninstall --all` (the MSI's uninstall) parses; nothing
// else with --all does.
func TestParseUninstallAll(t *testing.T) {
	got, err := ParseArgs([]string{"service", "uninstall", "--all"})
	if err != nil || got != (Command{Op: OpUninstall, All: true}) {
		t.Errorf("uninstall --all = %+v, %v", got, err)
	}
	for _, args := range [][]string{
		{"service", "uninstall", "--all", "wg0"},
		{"service", "uninstall", "wg0", "--all"},
		{"service", "install", "--all"},
		{"service", "list", "--all"},
		{"export", "--all"},
	} {
		if cmd, err := ParseArgs(args); err == nil {
			t.Errorf("ParseArgs(%q) = %+v, want an error", args, cmd)
		}
	}
	if got, err := ParseArgs([]string{"service", "uninstall", "wg0"}); err != nil || got.All {
		t.Errorf("uninstall wg0 = %+v, %v", got, err)
	}
	if _, err := ParseArgs([]string{"service", "uninstall"}); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "--all") {
		t.Errorf("uninstall without a name = %v, want usage naming --all", err)
	}
	if !strings.Contains(Usage, "uninstall --all") {
		t.Error("Usage does not mention uninstall --all")
	}
}
