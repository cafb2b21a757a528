package conf

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/testenv"
)

var updateStrip = flag.Bool("update-strip", false,
	"rewrite testdata/strip/*.golden with Debian's wg-quick strip (needs root and wireguard-tools)")

// stripCorpus returns the files of testdata/strip/*.conf.
func stripCorpus(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/strip/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no strip corpus: %v", err)
	}
	return files
}

// TestStripGolden: StripText prints, byte for byte, what Debian's
// `wg-quick strip` printed for each file of the corpus (the golden files,
// made by TestStripMatchesWgQuickLive with -update-strip), and every file
// and its stripped form parse.
func TestStripGolden(t *testing.T) {
	for _, path := range stripCorpus(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(path, ".conf") + ".golden")
			if err != nil {
				t.Fatal(err)
			}
			if got := StripText(data); !bytes.Equal(got, want) {
				t.Errorf("StripText differs from wg-quick strip:\n got %q\nwant %q", got, want)
			}
			if _, err := Parse(path, data, Options{Quick: true}); err != nil {
				t.Fatalf("corpus file rejected: %v", err)
			}
			got, err := StripChecked(path, data)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("StripChecked = %q, %v", got, err)
			}
		})
	}
}

// TestStripMatchesWgQuickLive runs Debian's wg-quick strip (root, as
// wg-quick insists even to strip) over the corpus and compares its output
// with the golden files; -update-strip rewrites them instead.
func TestStripMatchesWgQuickLive(t *testing.T) {
	wgQuick, err := exec.LookPath("wg-quick")
	if err != nil {
		testenv.Missing(t, "needs wireguard-tools' wg-quick (apt-get install wireguard-tools)")
	}
	testenv.RequireRoot(t)
	dir := t.TempDir()
	for _, path := range stripCorpus(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// wg-quick takes the interface's name from the file's.
		tmp := filepath.Join(dir, "wgstrip0.conf")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(wgQuick, "strip", tmp)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("wg-quick strip %s: %v\n%s", path, err, stderr.Bytes())
		}
		golden := strings.TrimSuffix(path, ".conf") + ".golden"
		if *updateStrip {
			if err := os.WriteFile(golden, out, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, want) {
			t.Errorf("%s: wg-quick strip printed %q, the golden file has %q", path, out, want)
		}
	}
	for _, tc := range stripCases {
		tmp := filepath.Join(dir, "wgstrip0.conf")
		if err := os.WriteFile(tmp, []byte(tc.in), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(wgQuick, "strip", tmp).Output()
		if err != nil || string(out) != tc.want {
			t.Errorf("%s: wg-quick strip of %q printed %q (%v), want %q", tc.name, tc.in, out, err, tc.want)
		}
	}
}

// stripCases pin down wg-quick's rules where the corpus does not;
// TestStripMatchesWgQuickLive checks them against wg-quick too.
var stripCases = []struct{ name, in, want string }{
	{"empty", "", "\n"},
	{"no interface added", "[Peer]\nPublicKey = x\n", "[Peer]\nPublicKey = x\n\n"},
	{"quick keys outside [Interface] stay", "[Peer]\nDNS = 1.1.1.1\n", "[Peer]\nDNS = 1.1.1.1\n\n"},
	{"key before any section stays", "Address = 1.2.3.4/32\n", "Address = 1.2.3.4/32\n\n"},
	{"inner white space is no key", "[Interface]\nPost Up = x\n", "[Interface]\nPost Up = x\n\n"},
	{"commented key", "[Interface]\n#Address = x\n", "[Interface]\n#Address = x\n\n"},
	{"key in a comment's place", "[Interface]\nAddress # = x\n", "[Interface]\n\n"},
	{"not [Interface]", "[Interfaces]\nAddress = x\n", "[Interfaces]\nAddress = x\n\n"},
	{"header with comment", "[Interface] # hi\nMTU = 1\n", "[Interface] # hi\n\n"},
	{"only space and tab trimmed", "\v [Interface]\t\r\n", "\v [Interface]\t\r\n\n"},
	{"carriage return ends key", "[Interface]\nMTU\r= 1\r\n", "[Interface]\n\n"},
	{"blank last line dropped", "[Peer]\n  \t", "[Peer]\n\n"},
	{"non-ASCII fold is not bash's", "[Interface]\nDNſ = 1.1.1.1\n", "[Interface]\nDNſ = 1.1.1.1\n\n"},
}

func TestStripTextCases(t *testing.T) {
	for _, tc := range stripCases {
		if got := string(StripText([]byte(tc.in))); got != tc.want {
			t.Errorf("%s: StripText(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// TestStripCheckedRefuses: a wg-quick key that wg-quick does not recognize
// (white space inside it) would reach setconf; StripChecked names its line
// in the original file.
func TestStripCheckedRefuses(t *testing.T) {
	in := "[Interface]\nPrivateKey = " + privB64 + "\nAddress = 10.0.0.1/24\nPost Up = echo hi\n"
	if _, err := Parse("wg0.conf", []byte(in), Options{Quick: true}); err != nil {
		t.Skipf("the parser already refuses it: %v", err)
	}
	_, err := StripChecked("wg0.conf", []byte(in))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 4 || !strings.Contains(err.Error(), "wg0.conf:4: after strip") {
		t.Errorf("StripChecked = %v; want an error at wg0.conf:4", err)
	}
}

// FuzzStripText: for a file Parse accepts with wg-quick's keys, the stripped
// text, when StripChecked accepts it, parses in wg's dialect to the same
// configuration as Strip of the parsed file (peer names aside: removing a
// line can put a name comment directly above its [Peer]).
func FuzzStripText(f *testing.F) {
	for _, s := range []string{
		"[Interface]\nPrivateKey = " + privB64 + "\nAddress = 10.0.0.1/24\n# Name = a\n[Peer]\nPublicKey = " + pubB64 + "\nAllowedIPs = 10.0.0.2/32\n",
		"[interface]\r\nmtu=1\r\n[peer]\r\npublickey=" + pubB64 + "\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := Parse("f", data, Options{Quick: true})
		if err != nil {
			return
		}
		out, err := StripChecked("f", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("StripChecked: %v", err)
			}
			return
		}
		if !bytes.Equal(out, StripText(data)) {
			t.Fatalf("StripChecked and StripText differ")
		}
		got, err := Parse("f", out, Options{})
		if err != nil {
			t.Fatalf("stripped text does not parse: %v\n%q", err, out)
		}
		want := Strip(in)
		for i := range got.Peers {
			got.Peers[i].Name = ""
		}
		for i := range want.Peers {
			want.Peers[i].Name = ""
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("stripped text parses to\n%+v\nStrip gives\n%+v\n%q", got, want, out)
		}
	})
}
