package proxy

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/testenv"
)

func TestParseListen(t *testing.T) {
	for _, tc := range []struct {
		in, addr, family string
		bad              string
	}{
		{in: "1080", addr: "127.0.0.1:1080", family: "4"},
		{in: ":1080", addr: "127.0.0.1:1080", family: "4"},
		{in: "0", addr: "127.0.0.1:0", family: "4"},
		{in: "0.0.0.0:1083", addr: "0.0.0.0:1083", family: "4"},
		{in: "[::]:1083", addr: "[::]:1083"},
		{in: "[::1]:8080", addr: "[::1]:8080"},
		{in: "[fe80::1%lo]:8080", addr: "[fe80::1%lo]:8080"},
		{in: "localhost:53", addr: "localhost:53"},
		{in: "", bad: "empty"},
		{in: "1.2.3.4.5:80", bad: `"1.2.3.4.5" is not an IP address or localhost`},
		{in: "example.com:80", bad: `"example.com" is not an IP address or localhost`},
		{in: "127.0.0.1:65536", bad: `port "65536" is not a number from 0 to 65535`},
		{in: "127.0.0.1:http", bad: `port "http" is not a number`},
		{in: "127.0.0.1:-1", bad: `port "-1" is not a number`},
		{in: "::1:80", bad: "not HOST:PORT or PORT"},
		{in: "localhost", bad: `port "localhost" is not a number`},
	} {
		la, err := parseListen(tc.in)
		if tc.bad != "" {
			if !errors.Is(err, ErrListenAddr) || !strings.HasPrefix(err.Error(), tc.bad) {
				t.Errorf("parseListen(%q) = %+v, %v; want an ErrListenAddr saying %q", tc.in, la, err, tc.bad)
			}
			continue
		}
		if err != nil || la.Address != tc.addr || la.Family != tc.family {
			t.Errorf("parseListen(%q) = %+v, %v; want %q, family %q", tc.in, la, err, tc.addr, tc.family)
		}
	}
}

// TestRunBadListenAddress: a listen address that cannot be listened on,
// from a flag or the file, stops Run before the tunnel starts: nothing is
// printed as started and nothing listens (the other, good listener of the
// same run is not opened).
func TestRunBadListenAddress(t *testing.T) {
	testenv.CheckGoroutines(t)
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	ref := newRefPeer(t)
	good := writeConfig(t, ref, "good.conf", "")
	badFile := writeConfig(t, ref, "badfile.conf", "\n[http]\nBindAddress = nohost.example:8080\n")
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"flag", Options{Config: good, SOCKS5: "nohost.example:1080", HTTP: "127.0.0.1:0"},
			`SOCKS5 proxy: listen address "nohost.example:1080": "nohost.example" is not an IP address or localhost`},
		{"forward", Options{Config: good, HTTP: "127.0.0.1:0", Forwards: []string{"127.0.0.1:99999=10.77.0.1:80"}},
			`listen address "127.0.0.1:99999": port "99999" is not a number from 0 to 65535`},
		{"file", Options{Config: badFile, SOCKS5: "127.0.0.1:0"},
			`badfile.conf:12: [http]: invalid proxy section: BindAddress "nohost.example:8080": "nohost.example" is not an IP address or localhost`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := Run(ctx, tc.o, &stdout, &stderr, func(string, []net.Addr) {
				t.Error("Run started listeners")
				cancel()
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run = %v, want an error containing %q", err, tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("Run started something before failing:\n%s", stdout.String())
			}
		})
	}
}

// TestRunListensAsWritten: 0.0.0.0:PORT listens on IPv4's any address and
// is reported as such, in the start-up line and in the warning, not as
// Go's dual-stack [::]; an IPv4 connection reaches it.
func TestRunListensAsWritten(t *testing.T) {
	testenv.CheckGoroutines(t)
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	ref := newRefPeer(t)
	path := writeConfig(t, ref, "any.conf", "")
	// A free port, to check the exact text.
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	want := "0.0.0.0:" + strconv.Itoa(port)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer // written before ready, read after
	readyc := make(chan []net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, Options{Config: path, SOCKS5: want}, &stdout, &stderr, func(_ string, a []net.Addr) { readyc <- a })
	}()
	defer func() { cancel(); <-errc }()
	select {
	case addrs := <-readyc:
		if len(addrs) != 1 || addrs[0].String() != want {
			t.Errorf("listening on %v, want %s", addrs, want)
		}
	case err := <-errc:
		t.Fatalf("Run: %v\n%s", err, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "SOCKS5 proxy listening on "+want+"\n") {
		t.Errorf("stdout does not report %s:\n%s", want, out)
	}
	if e := stderr.String(); !strings.Contains(e, "the SOCKS5 proxy on "+want+" accepts anyone") {
		t.Errorf("the warning does not name %s:\n%s", want, e)
	}
	c, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatalf("IPv4 client: %v", err)
	}
	c.Close()
}
