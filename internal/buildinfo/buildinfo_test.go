package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/warren-vpn/warren", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0adc05f0123456789abcdef0123456789abcdef0"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tagged := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/warren-vpn/warren", Version: "v0.2.0"},
	}
	tests := []struct {
		name                 string
		ldVer, ldCommit, ldM string
		bi                   *debug.BuildInfo
		version, commit      string
		modified             bool
	}{
		{"release build", "0.1.0+20261126075300", "1111111111111111111111111111111111111111", "", vcs,
			"0.1.0+20261126075300", "1111111111111111111111111111111111111111", false},
		{"release build of a modified tree", "0.1.0+20261126075300", "2222", "true", nil,
			"0.1.0+20261126075300", "2222", true},
		{"linker version with a v", "v0.1.0", "3333", "", nil, "0.1.0", "3333", false},
		{"dev build in a checkout", "", "", "", vcs,
			Base + "-dev", "0adc05f0123456789abcdef0123456789abcdef0", true},
		{"go install of a tagged module", "", "", "", tagged, "0.2.0", "", false},
		{"no build info", "", "", "", nil, Base + "-dev", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolve(tt.ldVer, tt.ldCommit, tt.ldM, tt.bi)
			if got.Version != tt.version || got.Commit != tt.commit || got.Modified != tt.modified {
				t.Errorf("resolve = {%q %q %v}, want {%q %q %v}", got.Version, got.Commit, got.Modified,
					tt.version, tt.commit, tt.modified)
			}
			if got.GoVersion == "" || !strings.Contains(got.Platform, "/") {
				t.Errorf("toolchain or platform missing: %+v", got)
			}
		})
	}
}

func TestString(t *testing.T) {
	i := Info{Version: "0.1.0+20261126075300", Commit: "abc", Modified: true, GoVersion: "go1.26.8", Platform: "windows/arm64"}
	want := "warren v0.1.0+20261126075300\ncommit abc (modified)\nbuilt with go1.26.8 for windows/arm64\n"
	if got := i.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	i = Info{Version: "0.1.0-dev", GoVersion: "go1.26.8", Platform: "linux/amd64"}
	if got := i.String(); !strings.Contains(got, "commit unknown\n") {
		t.Errorf("String() without a commit = %q, want it to say the commit is unknown", got)
	}
}
