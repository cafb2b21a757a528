package daemon

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want options
		ok   bool
	}{
		{"background", []string{"wg0"}, options{iface: "wg0"}, true},
		{"short foreground", []string{"-f", "wg0"}, options{foreground: true, iface: "wg0"}, true},
		{"long foreground", []string{"--foreground", "wg1"}, options{foreground: true, iface: "wg1"}, true},
		{"no args", nil, options{}, false},
		{"flag only", []string{"-f"}, options{}, false},
		{"too many", []string{"-f", "wg0", "extra"}, options{}, false},
		{"two names", []string{"wg0", "wg1"}, options{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseArgs(tt.args)
			if ok != tt.ok || got != tt.want {
				t.Errorf("parseArgs(%q) = %+v, %v; want %+v, %v", tt.args, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestLogLevel(t *testing.T) {
	for in, want := range map[string]string{
		"": "error", "verbose": "verbose", "debug": "verbose", "error": "error", "silent": "silent", "bogus": "error",
	} {
		if got := logLevel(in); got != want {
			t.Errorf("logLevel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main("warren daemon", nil, &out, &errb); code == 0 {
		t.Errorf("exit code 0 for a missing interface name")
	}
	if !strings.Contains(errb.String(), "Usage: warren daemon [-f/--foreground] INTERFACE-NAME") || out.Len() != 0 {
		t.Errorf("stdout %q, stderr %q; want the usage on stderr", out.String(), errb.String())
	}
	out.Reset()
	if code := Main("warren daemon", []string{"--version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "warren v") {
		t.Errorf("--version: code %d, output %q", code, out.String())
	}
}

// TestHelp: -h and --help print the help on stdout and exit 0, as
// wireguard-go's first usage line followed by what the command does.
func TestHelp(t *testing.T) {
	for _, flag := range []string{"-h", "--help"} {
		var out, errb bytes.Buffer
		if code := Main("warren daemon", []string{flag}, &out, &errb); code != 0 || errb.Len() != 0 {
			t.Errorf("%s: exit %d, stderr %q", flag, code, errb.String())
		}
		if !strings.HasPrefix(out.String(), "Usage: warren daemon [-f/--foreground] INTERFACE-NAME\n\nCreates the TUN interface") {
			t.Errorf("%s printed %q", flag, out.String())
		}
	}
}

// TestRefusedNames: a name that is no valid interface name (one starting
// with '-' reads as an option to ip and wg) is refused, saying why, before
// anything is created. run is never reached: without root it would fail
// differently, and as root it would create the TUN device first.
func TestRefusedNames(t *testing.T) {
	for _, args := range [][]string{{"-x"}, {"-f", "--help"}, {"--foreground", "-h"}, {"a/b"}, {"-f", "toolongname012345"}} {
		var out, errb bytes.Buffer
		code := Main("warren daemon", args, &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), "invalid interface name") || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want one line refusing the name", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := Main("warren daemon", []string{"a", "b"}, &out, &errb); code == 0 || !strings.HasPrefix(errb.String(), `warren daemon: expects one INTERFACE-NAME, not "a b"`) {
		t.Errorf("two names: exit %d, stderr %q", code, errb.String())
	}
}
