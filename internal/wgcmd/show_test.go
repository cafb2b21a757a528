package wgcmd

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenNow is the clock of the golden tests.
var goldenNow = time.Unix(1764000000, 0)

// TestGoldenShow pins every show format on a fixed device and clock. The
// golden files were checked against Debian's wg by the oracle tests, which
// print the same device.
func TestGoldenShow(t *testing.T) {
	variants := []struct {
		name string
		vars map[string]string
	}{
		{"plain", nil},
		{"color", map[string]string{"WG_COLOR_MODE": "always"}},
		{"keys", map[string]string{"WG_HIDE_KEYS": "never", "WG_COLOR_MODE": "never"}},
	}
	type tc struct {
		name string
		args []string
	}
	var cases []tc
	for _, v := range variants {
		cases = append(cases, tc{"show_" + v.name, []string{"show", "wg0"}})
	}
	for _, p := range showParams[1:] {
		cases = append(cases, tc{"show_" + p, []string{"show", "wg0", p}})
	}
	cases = append(cases,
		tc{"show_all", []string{"show", "all"}},
		tc{"noargs", nil},
		tc{"show_all_dump", []string{"show", "all", "dump"}},
		tc{"show_all_endpoints", []string{"show", "all", "endpoints"}},
		tc{"show_interfaces", []string{"show", "interfaces"}},
		tc{"showconf", []string{"showconf", "wg0"}},
		tc{"showconf_empty", []string{"showconf", "wg1"}},
		tc{"show_empty", []string{"show", "wg1"}},
		tc{"show_missing", []string{"show", "nope"}},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var vars map[string]string
			for _, v := range variants {
				if c.name == "show_"+v.name {
					vars = v.vars
				}
			}
			te := newTestEnv(vars, goldenNow)
			te.devs.add("wg0", richDevice(t, goldenNow))
			te.devs.add("wg1", &wgtypes.Device{ListenPort: 7})
			code := te.run("", c.args...)
			got := fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, te.stdout, te.stderr)
			golden := filepath.Join("testdata", "golden", c.name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestPrettyTime(t *testing.T) {
	p := painter{}
	for _, tt := range []struct {
		secs uint64
		want string
	}{
		{1, "1 second"},
		{59, "59 seconds"},
		{60, "1 minute"},
		{61, "1 minute, 1 second"},
		{3600, "1 hour"},
		{86400 + 2, "1 day, 2 seconds"},
		{2*365*86400 + 3*3600, "2 years, 3 hours"},
	} {
		if got := p.duration(tt.secs); got != tt.want {
			t.Errorf("duration(%d) = %q, want %q", tt.secs, got, tt.want)
		}
	}
	for _, tt := range []struct {
		then, now int64
		want      string
	}{
		{100, 100, "Now"},
		{100, 162, "1 minute, 2 seconds ago"},
		{100, 99, "(System clock wound backward; connection problems may ensue.)"},
	} {
		if got := p.ago(tt.then, tt.now); got != tt.want {
			t.Errorf("ago(%d, %d) = %q, want %q", tt.then, tt.now, got, tt.want)
		}
	}
	for _, tt := range []struct {
		b    uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.00 KiB"}, {1260, "1.23 KiB"}, {4669, "4.56 KiB"},
		{1 << 20, "1.00 MiB"}, {1<<30 - 1, "1024.00 MiB"}, {1 << 40, "1.00 TiB"},
	} {
		if got := p.bytes(tt.b); got != tt.want {
			t.Errorf("bytes(%d) = %q, want %q", tt.b, got, tt.want)
		}
	}
}

func TestColorAndHiddenKeys(t *testing.T) {
	for _, tt := range []struct {
		name       string
		vars       map[string]string
		wantColor  bool
		wantSecret bool
	}{
		{"defaults off a terminal", nil, false, false},
		{"always", map[string]string{"WG_COLOR_MODE": "always"}, true, false},
		{"never", map[string]string{"WG_COLOR_MODE": "never"}, false, false},
		{"invalid is auto", map[string]string{"WG_COLOR_MODE": "sometimes"}, false, false},
		{"show keys", map[string]string{"WG_HIDE_KEYS": "never"}, false, true},
		{"hide keys", map[string]string{"WG_HIDE_KEYS": "always"}, false, false},
		{"invalid hides", map[string]string{"WG_HIDE_KEYS": "no"}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEnv(tt.vars, goldenNow)
			d := richDevice(t, goldenNow)
			te.devs.add("wg0", d)
			if code := te.run("", "show", "wg0"); code != 0 {
				t.Fatalf("exit %d: %s", code, te.stderr)
			}
			out := te.stdout.String()
			if got := strings.Contains(out, "\x1b["); got != tt.wantColor {
				t.Errorf("colours = %v, want %v", got, tt.wantColor)
			}
			if got := strings.Contains(out, d.PrivateKey.Base64()); got != tt.wantSecret {
				t.Errorf("private key shown = %v, want %v", got, tt.wantSecret)
			}
			if got := strings.Contains(out, "(hidden)"); got == tt.wantSecret {
				t.Errorf("(hidden) shown = %v, want %v", got, !tt.wantSecret)
			}
		})
	}
}

func TestSortedByHandshake(t *testing.T) {
	d := richDevice(t, goldenNow)
	var got []string
	for _, p := range sortedByHandshake(d.Peers) {
		got = append(got, p.PublicKey.String()[:4])
	}
	// Future first, then newest to oldest, ties and never-handshaken peers
	// in device order.
	want := "//// tstK HIgo AAAA xTIB TrMv gN65 eL9t"
	if strings.Join(got, " ") != want {
		t.Errorf("order %q, want %q", strings.Join(got, " "), want)
	}
}
