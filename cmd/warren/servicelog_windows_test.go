package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/ringlog"
)

// The engine's log reaches the tunnel's ring log, tagged, at the level
// asked for.
func TestRingLogger(t *testing.T) {
	for _, tc := range []struct {
		level string
		want  []string
	}{
		{device.LogLevelVerbose, []string{"TUN|peer 1 handshake", "ERR|peer 1 failed"}},
		{device.LogLevelError, []string{"ERR|peer 1 failed"}},
		{device.LogLevelSilent, nil},
		{"bogus", nil},
	} {
		path := filepath.Join(t.TempDir(), "wg0.bin")
		l, err := ringlog.Open(path, ringlog.Options{Lines: 8})
		if err != nil {
			t.Fatal(err)
		}
		lg := ringLogger(l, tc.level)
		lg.Verbosef("peer %d handshake", 1)
		lg.Errorf("peer %d failed", 1)
		l.Close()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := ringlog.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, line := range lines {
			got = append(got, line.Tag+"|"+line.Text)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("level %q: log holds %q, want %q", tc.level, got, tc.want)
		}
	}
}
