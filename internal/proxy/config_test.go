package proxy

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
)

func TestSplitConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "wireproxy.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	wg, s, err := SplitConfig("wireproxy.conf", data, func(m string) { warnings = append(warnings, m) })
	if err != nil {
		t.Fatal(err)
	}
	want := &Settings{
		SOCKS5: []ServerSettings{{Listen: "127.0.0.1:25344", Username: "alice", Password: "secret"}},
		HTTP:   []ServerSettings{{Listen: "127.0.0.1:25345"}},
		Forwards: []Forward{
			{Listen: "127.0.0.1:25565", Target: "play.example.com:25565"},
			{Reverse: true, Listen: "3422", Target: "localhost:25545"},
			{UDP: true, Listen: "127.0.0.1:50000", Target: "10.200.200.1:53", Idle: 10 * time.Second},
		},
		Limits: DefaultLimits(),
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("settings\n got %+v\nwant %+v", s, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "CheckAlive") || !strings.Contains(warnings[0], ":6:") {
		t.Errorf("warnings %q", warnings)
	}
	if strings.Count(string(wg), "\n") != strings.Count(string(data), "\n") {
		t.Error("the WireGuard part lost lines")
	}
	f, err := conf.Parse("wireproxy.conf", wg, conf.Options{Quick: true})
	if err != nil {
		t.Fatalf("conf rejects the WireGuard part: %v", err)
	}
	if len(f.Peers) != 1 || len(f.Interface.Addresses) != 1 || len(f.Interface.DNS) != 1 {
		t.Errorf("parsed %+v", f)
	}
}

// TestSplitConfigLineNumbers: conf's errors in the WireGuard part point
// at the file's own lines.
func TestSplitConfigLineNumbers(t *testing.T) {
	data := "[Socks5]\nBindAddress = 127.0.0.1:1080\n\n[Interface]\nPrivateKey = nonsense\n"
	wg, _, err := SplitConfig("x.conf", []byte(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conf.Parse("x.conf", wg, conf.Options{Quick: true})
	var pe *conf.ParseError
	if !errors.As(err, &pe) || pe.Line != 5 {
		t.Fatalf("error %v, want one at line 5", err)
	}
}

func TestSplitConfigErrors(t *testing.T) {
	for name, data := range map[string]string{
		"unknown section":     "[Tunnel]\nA = b\n",
		"unknown key":         "[Socks5]\nBindAddress = 127.0.0.1:1\nColour = red\n",
		"no bind address":     "[http]\nUsername = a\nPassword = b\n",
		"user without pass":   "[Socks5]\nBindAddress = 127.0.0.1:1\nUsername = a\n",
		"bad target":          "[TCPClientTunnel]\nBindAddress = 127.0.0.1:1\nTarget = nowhere\n",
		"bad listen port":     "[TCPServerTunnel]\nListenPort = 99999\nTarget = 127.0.0.1:1\n",
		"bad timeout":         "[UDPProxyTunnel]\nBindAddress = 127.0.0.1:1\nTarget = 1.1.1.1:53\nInactivityTimeout = soon\n",
		"not key value":       "[Socks5]\nBindAddress\n",
		"long socks password": "[Socks5]\nBindAddress = 127.0.0.1:1\nUsername = a\nPassword = " + strings.Repeat("p", 300) + "\n",
		"unknown limit":       "[Limits]\nMaxSockets = 5\n",
		"negative limit":      "[Limits]\nMaxConns = -1\n",
		"limit not a number":  "[Limits]\nMaxUDPFlows = many\n",
		"bad idle timeout":    "[Limits]\nTCPIdleTimeout = -5s\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := SplitConfig("x.conf", []byte(data), nil)
			if !errors.Is(err, ErrSection) {
				t.Fatalf("error %v, want ErrSection", err)
			}
			if !strings.HasPrefix(err.Error(), "x.conf:") {
				t.Errorf("error %q does not locate the problem", err)
			}
		})
	}
}

func TestParseForward(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want Forward
	}{
		{"127.0.0.1:8080=10.0.0.2:80", Forward{Listen: "127.0.0.1:8080", Target: "10.0.0.2:80"}},
		{"tcp:8080=web.internal:80", Forward{Listen: "127.0.0.1:8080", Target: "web.internal:80"}},
		{"tcp:localhost:8080=web.internal:80", Forward{Listen: "localhost:8080", Target: "web.internal:80"}},
		{"udp:127.0.0.1:5353=10.0.0.1:53", Forward{UDP: true, Listen: "127.0.0.1:5353", Target: "10.0.0.1:53"}},
		{"tunnel:80=127.0.0.1:3000", Forward{Reverse: true, Listen: "80", Target: "127.0.0.1:3000"}},
		{"udp:tunnel:[fd00::2]:53=127.0.0.1:53", Forward{UDP: true, Reverse: true, Listen: "[fd00::2]:53", Target: "127.0.0.1:53"}},
		{"tunnel:0=127.0.0.1:1", Forward{}},
		{"tunnel:host:80=127.0.0.1:1", Forward{}},
		{"127.0.0.1:8080", Forward{}},
		{"127.0.0.1:8080=nowhere", Forward{}},
	} {
		got, err := ParseForward(tc.spec)
		if tc.want == (Forward{}) {
			if err == nil {
				t.Errorf("%q: accepted as %+v", tc.spec, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
}

func TestLoopbackDefault(t *testing.T) {
	for in, want := range map[string]string{
		"1080":           "127.0.0.1:1080",
		":1080":          "127.0.0.1:1080",
		"0.0.0.0:1080":   "0.0.0.0:1080",
		"[::1]:1080":     "[::1]:1080",
		"localhost:1080": "localhost:1080",
	} {
		if got := loopbackDefault(in); got != want {
			t.Errorf("loopbackDefault(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestListenWarnings: a proxy reachable beyond loopback without
// credentials draws a warning; with credentials, or on loopback, none.
func TestListenWarnings(t *testing.T) {
	for _, tc := range []struct {
		ss   ServerSettings
		warn bool
	}{
		{ServerSettings{Listen: "0"}, false},
		{ServerSettings{Listen: "0.0.0.0:0"}, true},
		{ServerSettings{Listen: "0.0.0.0:0", Username: "u", Password: "p"}, false},
	} {
		var warnings []string
		l, err := listen(tc.ss, "SOCKS5", func(m string) { warnings = append(warnings, m) })
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		if got := len(warnings) > 0; got != tc.warn {
			t.Errorf("%+v: warnings %q", tc.ss, warnings)
		}
	}
}

// TestLimitsSection: warren's [Limits] section sets the keys it names and
// leaves the others at their defaults; the limit flags win over it.
func TestLimitsSection(t *testing.T) {
	data := "[Limits]\nMaxConns = 100\nmaxconnspersource = 10\nMaxUDPFlows = 0\nMaxUDPAssociationsPerSource = 3\nTCPIdleTimeout = 90\n"
	_, s, err := SplitConfig("x.conf", []byte(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultLimits()
	want.Conns, want.ConnsPerSource, want.UDPFlows, want.AssociationsPerSource, want.TCPIdle = 100, 10, 0, 3, 90*time.Second
	if s.Limits != want {
		t.Errorf("limits\n got %v\nwant %v", s.Limits, want)
	}
	if err := applyFlags(s, Options{Limits: []string{"MaxConns=7", "TCPIdleTimeout=30m0s", "MaxUDPFlowsPerSource=0"}}); err != nil {
		t.Fatal(err)
	}
	want.Conns, want.TCPIdle, want.UDPFlowsPerSource = 7, 30*time.Minute, 0
	if s.Limits != want {
		t.Errorf("after flags\n got %v\nwant %v", s.Limits, want)
	}
	if err := applyFlags(s, Options{Limits: []string{"MaxThings=1"}}); !errors.Is(err, ErrLimitKey) {
		t.Errorf("unknown limit key: %v, want ErrLimitKey", err)
	}
}
