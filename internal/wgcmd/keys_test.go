package wgcmd

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/uapi"
)

func TestGenkey(t *testing.T) {
	for _, tt := range []struct {
		cmd  string
		want string
	}{
		// 32 bytes of 0xff: genkey clamps them, genpsk does not.
		{"genkey", "+P///////////////////////////////////////38=\n"},
		{"genpsk", "//////////////////////////////////////////8=\n"},
	} {
		t.Run(tt.cmd, func(t *testing.T) {
			te := newTestEnv(nil, goldenNow)
			te.rand = bytes.NewReader(bytes.Repeat([]byte{0xff}, 32))
			if code := te.run("", tt.cmd); code != 0 || te.stdout.String() != tt.want || te.stderr.Len() != 0 {
				t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, te.stdout, te.stderr, tt.want)
			}
		})
	}
	t.Run("keys differ", func(t *testing.T) {
		var keys []string
		for range 2 {
			var out bytes.Buffer
			if code := Main("wg", []string{"genkey"}, strings.NewReader(""), &out, &out); code != 0 {
				t.Fatalf("exit %d: %s", code, out.String())
			}
			k, err := noise.ParseKey(strings.TrimSpace(out.String()))
			if err != nil {
				t.Fatal(err)
			}
			if pk := noise.PrivateKey(k); pk != pk.Clamped() {
				t.Error("genkey printed an unclamped key")
			}
			keys = append(keys, out.String())
		}
		if keys[0] == keys[1] {
			t.Error("two genkey runs printed the same key")
		}
	})
	t.Run("random source fails", func(t *testing.T) {
		te := newTestEnv(nil, goldenNow)
		te.rand = bytes.NewReader(nil)
		if code := te.run("", "genkey"); code != 1 || !strings.HasPrefix(te.stderr.String(), "getrandom: ") {
			t.Errorf("exit %d, stderr %q", code, te.stderr)
		}
	})
}

func TestGenkeyWorldAccessibleWarning(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no permission bits on Windows")
	}
	for _, tt := range []struct {
		mode os.FileMode
		warn bool
	}{{0o600, false}, {0o644, true}, {0o601, true}} {
		t.Run(fmt.Sprintf("%o", tt.mode), func(t *testing.T) {
			f, err := os.OpenFile(filepath.Join(t.TempDir(), "key"), os.O_CREATE|os.O_WRONLY, tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Chmod(tt.mode); err != nil { // whatever the umask
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			if code := Main("wg", []string{"genkey"}, strings.NewReader(""), f, &stderr); code != 0 {
				t.Fatalf("exit %d", code)
			}
			const warning = "Warning: writing to world accessible file.\nConsider setting the umask to 077 and trying again.\n"
			if got := stderr.String() == warning; got != tt.warn {
				t.Errorf("warning %q, want it %v", stderr.String(), tt.warn)
			}
		})
	}
}

func TestPubkey(t *testing.T) {
	for _, tt := range []struct {
		name, in, stdout, stderr string
		code                     int
	}{
		{"plain", privB64, pubB64 + "\n", "", 0},
		{"newline, NULs and spaces after", privB64 + "\n\x00 \t\r\n", pubB64 + "\n", "", 0},
		{"empty", "", "", "wg: Key is not the correct length or format\n", 1},
		{"short", privB64[:43], "", "wg: Key is not the correct length or format\n", 1},
		{"trailing", privB64 + " x", "", "wg: Trailing characters found after key\n", 1},
		{"non-canonical", privB64[:42] + "B=", "", "wg: Key is not the correct length or format\n", 1},
		{"not base64", strings.Repeat("*", 44), "", "wg: Key is not the correct length or format\n", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEnv(nil, goldenNow)
			code := te.run(tt.in, "pubkey")
			if code != tt.code || te.stdout.String() != tt.stdout || te.stderr.String() != tt.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q", code, te.stdout, te.stderr)
			}
		})
	}
}

func TestErrnoText(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"missing socket", fmt.Errorf("uapi: dial wg0: %w", &fs.PathError{Op: "dial", Path: "/x", Err: syscall.ENOENT}), "No such device"},
		{"bad name", fmt.Errorf("uapi: dial: %w", uapi.ErrInvalidName), "Invalid argument"},
		{"EINVAL from the device", &uapi.Error{Errno: 22}, "Invalid argument"},
		{"EADDRINUSE from the device", &uapi.Error{Errno: 98}, "Address already in use"},
		{"EPROTO from a broken answer", &uapi.Error{Errno: 71}, "Protocol error"},
		{"permission", fmt.Errorf("dial: %w", syscall.EACCES), "Permission denied"},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), "Connection refused"},
		{"unsupported platform", uapi.ErrUnsupported, "Operation not supported"},
		{"anything else", errors.New("garbled"), "Protocol error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS != "linux" && strings.Contains(tt.name, "device") {
				t.Skip("errno numbers are Linux's")
			}
			if got := errnoText(tt.err); got != tt.want {
				t.Errorf("errnoText(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestMainDispatch(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"--version"}, 0, VersionLine + "\n", ""},
		{[]string{"help"}, 0, "Usage: warren <cmd> [<args>]\n", ""},
		{[]string{"nope"}, 1, "", "Invalid subcommand: `nope'\nUsage: warren <cmd> [<args>]\n"},
		{[]string{"genkey", "x"}, 1, "", "Usage: warren genkey\n"},
		{[]string{"showconf"}, 1, "", "Usage: warren showconf <interface>\n"},
		{[]string{"syncconf", "wg0"}, 1, "", "Usage: warren syncconf <interface> <configuration filename>\n"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main("warren", tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.code || !strings.HasPrefix(stdout.String(), tt.stdout) || !strings.HasPrefix(stderr.String(), tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
			}
		})
	}
	t.Run("socket dir from the environment", func(t *testing.T) {
		t.Setenv(SocketDirEnv, t.TempDir())
		var stdout, stderr bytes.Buffer
		if code := Main("wg", nil, strings.NewReader(""), &stdout, &stderr); code != 0 || stdout.Len() != 0 || stderr.Len() != 0 {
			t.Errorf("show in an empty directory: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
		}
		if code := Main("wg", []string{"show", "wg0"}, strings.NewReader(""), &stdout, &stderr); code != 1 ||
			stderr.String() != "Unable to access interface: No such device\n" {
			t.Errorf("show of a missing interface: exit %d, stderr %q", code, stderr.String())
		}
	})
}
