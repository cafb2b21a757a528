package wgcmd

import (
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

// TestSubcommandHelp: every subcommand answers -h and --help with its own
// usage and what it does, on stdout with exit 0, and touches no device —
// not even one named "--help".
func TestSubcommandHelp(t *testing.T) {
	for _, s := range subcommands {
		for _, flag := range []string{"-h", "--help"} {
			te := newTestEnv(nil, time.Unix(0, 0))
			te.devs.add("--help", &wgtypes.Device{})
			te.devs.add("-h", &wgtypes.Device{})
			if code := te.run("", s.name, flag); code != 0 {
				t.Errorf("%s %s: exit %d, stderr %q", s.name, flag, code, te.stderr.String())
			}
			out := te.stdout.String()
			if !strings.HasPrefix(out, "Usage: wg "+s.name) || !strings.Contains(out, helpTexts[s.name]) {
				t.Errorf("%s %s printed %q; want its usage and help", s.name, flag, out)
			}
			if te.stderr.Len() != 0 || len(te.devs.sets) != 0 {
				t.Errorf("%s %s: stderr %q, sets %v", s.name, flag, te.stderr.String(), te.devs.sets)
			}
		}
		if helpTexts[s.name] == "" {
			t.Errorf("subcommand %s has no help text", s.name)
		}
	}
}
