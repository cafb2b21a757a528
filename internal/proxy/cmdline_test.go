package proxy

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// usageLineText is the first line of the help, which follows every
// command-line error.
const usageLineText = "Usage: warren proxy [--socks5 ADDR] [--http ADDR] [--forward SPEC]... [--name NAME] [LIMITS] CONFIG"

// TestMainHelp: -h, -help and --help print the help on stdout, exit 0 and
// start nothing, wherever they are.
func TestMainHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"--socks5", "1080", "--help"}, {"wg0.conf", "-h"}} {
		var out, errOut bytes.Buffer
		code := Main("warren proxy", args, nil, &out, &errOut)
		if code != exitOK || errOut.Len() != 0 || !strings.HasPrefix(out.String(), usageLineText+"\n") ||
			!strings.Contains(out.String(), "--max-conns N") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want the help on stdout", args, code, out.String(), errOut.String())
		}
	}
}

// TestMainCommandLine: a wrong command line is one line saying what is
// wrong, naming a flag as the user wrote it, then the usage line; exit 2
// and nothing runs (the config named does not exist, and no error about
// it appears).
func TestMainCommandLine(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "absent.conf")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "CONFIG is missing: name the tunnel's config file (a wg0.conf)"},
		{[]string{"--socks5", "1080"}, "CONFIG is missing"},
		{[]string{"--bogus", cfg}, "unknown flag --bogus"},
		{[]string{"--bogus=1", cfg}, "unknown flag --bogus"},
		{[]string{"-bogus", cfg}, "unknown flag -bogus"},
		{[]string{"---socks5", "1080", cfg}, "unknown flag ---socks5"},
		{[]string{"--socks5"}, "--socks5 needs a value (ADDR)"},
		{[]string{cfg, "--socks5"}, "--socks5 comes after CONFIG " + strconv.Quote(cfg) + ": flags go before it"},
		{[]string{cfg, "--socks5", "1080"}, "--socks5 comes after CONFIG"},
		{[]string{cfg, "-socks5=1080"}, "-socks5 comes after CONFIG"},
		{[]string{cfg, "other.conf"}, `one CONFIG only: "other.conf" follows ` + strconv.Quote(cfg)},
		{[]string{"--", cfg, "--http"}, `one CONFIG only: "--http" follows`},
		{[]string{"--max-conns", "lots", cfg}, `--max-conns "lots": not a count (a whole number; 0 for no cap)`},
		{[]string{"--max-conns-per-source", "-1", cfg}, `--max-conns-per-source "-1": not a count`},
		{[]string{"-max-udp-flows=1e3", cfg}, `-max-udp-flows "1e3": not a count`},
		{[]string{"--tcp-idle", "soon", cfg}, `--tcp-idle "soon": not a duration (such as 90s, 30m or 2h; 0 for never)`},
		{[]string{"--tcp-idle", "-1s", cfg}, `--tcp-idle "-1s": not a duration`},
		{[]string{"--socks5", "1.2.3.4.5:1080", cfg}, `--socks5 "1.2.3.4.5:1080": "1.2.3.4.5" is not an IP address or localhost`},
		{[]string{"--http", "127.0.0.1:65536", cfg}, `--http "127.0.0.1:65536": port "65536" is not a number from 0 to 65535`},
		{[]string{"--http", "localhost", cfg}, `--http "localhost": port "localhost" is not a number from 0 to 65535`},
		{[]string{"--http=", cfg}, `--http "": empty`},
		{[]string{"--forward", "nonsense", cfg}, `--forward "nonsense": want [tcp:|udp:]LISTEN=TARGET`},
		{[]string{"--forward", "nohost.example:80=10.0.0.1:80", cfg}, `--forward "nohost.example:80=10.0.0.1:80": listen address "nohost.example:80": "nohost.example" is not an IP address or localhost`},
		{[]string{"--name", "", cfg}, `--name "": `},
		{[]string{"--name", "a/b", cfg}, `--name "a/b": `},
	} {
		var out, errOut bytes.Buffer
		code := Main("warren proxy", tc.args, nil, &out, &errOut)
		lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
		if code != exitUsage || out.Len() != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "warren proxy: "+tc.want) ||
			lines[1] != usageLineText {
			t.Errorf("%q: exit %d, stdout %q, stderr %q\nwant exit %d, %q and the usage line", tc.args, code, out.String(), errOut.String(), exitUsage, "warren proxy: "+tc.want)
		}
	}
}

// TestParseArgs: both spellings of a flag, --flag=value and --flag value,
// repeated forwards, and only the limit flags given becoming Limits.
func TestParseArgs(t *testing.T) {
	o, help, err := parseArgs([]string{"-socks5", "1080", "--http=127.0.0.1:8080", "--forward", "8000=10.0.0.1:80",
		"-forward=udp:5353=10.0.0.1:53", "--name", "web", "--max-conns=10", "-tcp-idle", "30m", "--", "-odd.conf"})
	want := Options{Config: "-odd.conf", Name: "web", SOCKS5: "1080", HTTP: "127.0.0.1:8080",
		Forwards: []string{"8000=10.0.0.1:80", "udp:5353=10.0.0.1:53"}, Limits: []string{"MaxConns=10", "TCPIdleTimeout=30m"}}
	if err != nil || help || !reflect.DeepEqual(o, want) {
		t.Errorf("parseArgs = %+v, %v, %v\nwant %+v", o, help, err, want)
	}
}
