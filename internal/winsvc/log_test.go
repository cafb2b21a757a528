package winsvc

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/ringlog"
)

func TestParseLogArgs(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		noFollow bool
	}{
		{[]string{"log", "wg0"}, false},
		{[]string{"log", "-n", "wg0"}, true},
		{[]string{"log", NoFollowFlag, "wg0"}, true},
	} {
		c, err := ParseArgs(tc.args)
		if err != nil || c.Op != OpLog || c.Tunnel != "wg0" || c.NoFollow != tc.noFollow {
			t.Errorf("%q: %+v, %v", tc.args, c, err)
		}
	}
	for _, args := range [][]string{{"log"}, {"log", "-n"}, {"log", "a", "b"}, {"log", "--follow", "wg0"}, {"log", "wg0", "-n"}} {
		if _, err := ParseArgs(args); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: %v, want ErrUsage", args, err)
		}
	}
	if _, err := ParseArgs([]string{"log", "bad/name"}); err == nil || errors.Is(err, ErrUsage) {
		t.Errorf("bad name: %v, want a name error", err)
	}
	if !strings.Contains(Usage, "warren log [--no-follow|-n] NAME") {
		t.Error("Usage does not document warren log")
	}
}

// logBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitForOutput polls until buf holds want.
func waitForOutput(t *testing.T, buf *logBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(buf.String(), want) {
			return
		}
	}
	t.Fatalf("output %q never held %q", buf.String(), want)
}

func TestPrintLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wg0"+LogExt)
	l, err := ringlog.Open(path, ringlog.Options{Lines: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Write(LogTagService, "tunnel wg0 is up")
	l.Write(LogTagTunnel, "PostUp: hello")

	r, err := ringlog.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	if err := printLog(t.Context(), r, false, 0, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], ": [SVC] tunnel wg0 is up") || !strings.HasSuffix(lines[1], ": [TUN] PostUp: hello") {
		t.Errorf("printed %q", out.String())
	}

	// Following: what is there, then what comes, until the context ends.
	r2, err := ringlog.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	ctx, cancel := context.WithCancel(t.Context())
	var buf logBuffer
	done := make(chan error)
	go func() { done <- printLog(ctx, r2, true, time.Millisecond, &buf) }()
	waitForOutput(t, &buf, "PostUp: hello")
	l.Write(LogTagWarning, "pinning failed")
	waitForOutput(t, &buf, "[WARN] pinning failed")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("follow ended with %v", err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Errorf("followed %d lines, want 3: %q", n, buf.String())
	}
}

type failWriter struct{}

var errWrite = errors.New("stdout closed")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

// A reader that went away (stdout closed) ends the command, following or
// not.
func TestPrintLogWriteError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wg0"+LogExt)
	l, err := ringlog.Open(path, ringlog.Options{Lines: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Write(LogTagService, "x")
	for _, follow := range []bool{false, true} {
		r, err := ringlog.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := printLog(t.Context(), r, follow, time.Millisecond, failWriter{}); !errors.Is(err, errWrite) {
			t.Errorf("follow %v: %v, want the write error", follow, err)
		}
		r.Close()
	}
}

// TestLogRoute: the service's errors reach the event log as well as the
// ring log; details (goroutine stacks) reach only the ring log, which
// SYSTEM and the Administrators alone may read, and nothing when there is
// none, since every interactive user may read the event log.
func TestLogRoute(t *testing.T) {
	for _, tc := range []struct {
		kind        string
		haveRing    bool
		ring, event bool
	}{
		{"info", true, true, false},
		{"error", true, true, true},
		{logDetail, true, true, false},
		{"info", false, false, true},
		{"error", false, false, true},
		{logDetail, false, false, false},
	} {
		ring, event := logRoute(tc.kind, tc.haveRing)
		if ring != tc.ring || event != tc.event {
			t.Errorf("logRoute(%q, ring log %v) = ring %v, event log %v; want %v, %v", tc.kind, tc.haveRing, ring, event, tc.ring, tc.event)
		}
	}
}
