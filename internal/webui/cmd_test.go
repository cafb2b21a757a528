package webui

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		wantErr string
		listen  string
	}{
		{nil, "", "127.0.0.1:51821"},
		{[]string{"--listen", "localhost:8080"}, "", "127.0.0.1:8080"},
		{[]string{"--listen", "[::1]:1"}, "", "[::1]:1"},
		{[]string{"--listen", "0.0.0.0:443"}, "not a loopback address", ""},
		{[]string{"--listen", "192.0.2.1:443", "--tls-cert", "c.pem"}, "go together", ""},
		{[]string{"--listen", "192.0.2.1:443", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, "", "192.0.2.1:443"},
		{[]string{"--listen", "vpn.example:443"}, "want an IP address", ""},
		{[]string{"--listen", "127.0.0.1"}, "want IP:PORT", ""},
		{[]string{"--host", "a/b"}, "not a host name", ""},
		{[]string{"--metrics", "0.0.0.0:9586"}, "bearer token", ""},
		{[]string{"--metrics", "127.0.0.1:9586"}, "", "127.0.0.1:51821"},
		{[]string{"--metrics-token-file", "t"}, "without --metrics", ""},
		{[]string{"extra"}, "unexpected argument", ""},
		{[]string{"--bogus"}, "unknown flag --bogus", ""},
		{[]string{"--listen"}, "flag --listen needs an argument", ""},
	} {
		opts, help, err := parseArgs("warren manager", tt.args, nil)
		if help {
			t.Errorf("%q: help", tt.args)
		}
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error %v, want one saying %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if opts.listen.String() != tt.listen {
			t.Errorf("%q: listen %v, want %v", tt.args, opts.listen, tt.listen)
		}
	}
	_, _, err := parseArgs("warren manager", []string{"--listen", "0.0.0.0:443"}, nil)
	if !errors.Is(err, ErrNeedsTLS) {
		t.Errorf("non-loopback without TLS: %v, want ErrNeedsTLS", err)
	}
}

// --help prints the usage and creates nothing; a refused start creates
// nothing either.
func TestMainHelpCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	state, confDir := filepath.Join(dir, "state"), filepath.Join(dir, "conf")
	for _, args := range [][]string{{"-h"}, {"--help"}, {"--state", state, "--config-dir", confDir, "--help"}} {
		var out, errb bytes.Buffer
		if code := Main("warren manager", args, &out, &errb); code != 0 {
			t.Errorf("%q: exit %d", args, code)
		}
		if !strings.Contains(out.String(), "Usage: warren manager") || errb.Len() != 0 {
			t.Errorf("%q: stdout %q stderr %q", args, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := Main("warren manager", []string{"--state", state, "--config-dir", confDir, "--listen", "0.0.0.0:1"}, &out, &errb); code == 0 {
		t.Error("a non-loopback address without TLS started")
	}
	if !strings.Contains(errb.String(), "needs TLS") {
		t.Errorf("refusal says %q", errb.String())
	}
	for _, p := range []string{state, confDir} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was created", p)
		}
	}
}
