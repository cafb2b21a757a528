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
	if !strings.Contains(out.String(), "Usage: warren daemon [-f/--foreground] INTERFACE-NAME") {
		t.Errorf("usage text = %q", out.String())
	}
	out.Reset()
	if code := Main("warren daemon", []string{"--version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "warren v") {
		t.Errorf("--version: code %d, output %q", code, out.String())
	}
}
