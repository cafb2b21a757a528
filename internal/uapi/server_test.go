//go:build !windows

package uapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

// startServer serves h on a fresh unix socket and returns its directory and
// name; the server is stopped, and checked to return nil, at cleanup.
func startServer(t *testing.T, h Handler) (dir, name string) {
	t.Helper()
	dir, name = t.TempDir(), "wutest"
	serveTest(t, dir, name, h)
	return dir, name
}

func dialTest(t *testing.T, dir, name string) net.Conn {
	t.Helper()
	c, err := Dial(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// exchange sends req and reads one answer, which ends with a blank line.
func exchange(t *testing.T, c net.Conn, br *bufio.Reader, req string) string {
	t.Helper()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			t.Fatalf("reading answer to %q: %v (got %q)", req, err, b.String())
		}
		if line == "\n" {
			return b.String()
		}
	}
}

func TestServeRequestsOnOneConnection(t *testing.T) {
	h := &fakeHandler{state: testDevice()}
	dir, name := startServer(t, h)
	c := dialTest(t, dir, name)
	br := bufio.NewReader(c)

	var state strings.Builder
	WriteGet(&state, testDevice())
	steps := []struct {
		name, req, want string
		applied         int
	}{
		{"get", "get=1\n\n", state.String() + "errno=0\n\n", 0},
		{"set", "set=1\nlisten_port=5\n\n", "errno=0\n\n", 1},
		{"bad set is drained and not applied", "set=1\nlisten_port=x\npublic_key=" + hexOf(1) + "\nallowed_ip=::/0\n\n", "errno=-22\n\n", 1},
		{"line without =", "set=1\nwhat\n\n", "errno=-71\n\n", 1},
		{"get with trailing character", "get=1\nx", "errno=-22\n\n", 1},
		{"empty set", "set=1\n\n", "errno=0\n\n", 2},
		{"get again", "get=1\n\n", state.String() + "errno=0\n\n", 2},
	}
	for _, s := range steps {
		if got := exchange(t, c, br, s.req); got != s.want {
			t.Errorf("%s: answer %q, want %q", s.name, got, s.want)
		}
		if n := h.nApplied(); n != s.applied {
			t.Errorf("%s: Apply called %d times, want %d", s.name, n, s.applied)
		}
	}
	if got := *h.applied[0].ListenPort; got != 5 {
		t.Errorf("applied listen_port %d, want 5", got)
	}
}

func TestServeApplyErrno(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		wire  string
		match error
	}{
		{"invalid config", fmt.Errorf("peer: %w", wgtypes.ErrInvalidConfig), "errno=-22\n\n", wgtypes.ErrInvalidConfig},
		{"port in use", fmt.Errorf("bind: %w", wgtypes.ErrPortInUse), "errno=-98\n\n", wgtypes.ErrPortInUse},
		{"own errno", &Error{Errno: errnoProtocol}, "errno=-71\n\n", ErrProtocol},
		{"anything else", errors.New("disk on fire"), "errno=-5\n\n", ErrIO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{err: tt.err, state: &wgtypes.Device{}}
			dir, name := startServer(t, h)
			c := dialTest(t, dir, name)
			if got := exchange(t, c, bufio.NewReader(c), "set=1\nfwmark=1\n\n"); got != tt.wire {
				t.Errorf("answer %q, want %q", got, tt.wire)
			}
			// The client maps the number back.
			err := Set(c, &wgtypes.Config{FwMark: ptr[uint32](0)})
			if !errors.Is(err, tt.match) {
				t.Errorf("Set = %v, want errors.Is %v", err, tt.match)
			}
		})
	}
}

func TestClient(t *testing.T) {
	h := &fakeHandler{state: testDevice()}
	dir, name := startServer(t, h)
	c := dialTest(t, dir, name)
	cfg := &wgtypes.Config{ReplacePeers: true, Peers: []wgtypes.PeerConfig{{PublicKey: pub1, Remove: true}}}
	if err := Set(c, cfg); err != nil {
		t.Fatal(err)
	}
	dev, err := Get(c)
	if err != nil {
		t.Fatal(err)
	}
	if !equalDevice(dev, testDevice()) {
		t.Errorf("Get = %+v", dev)
	}
	if err := Set(c, cfg); err != nil { // still in step
		t.Fatal(err)
	}
	if n := h.nApplied(); n != 2 || !h.applied[0].ReplacePeers || !h.applied[0].Peers[0].Remove {
		t.Errorf("applied %d: %+v", n, h.applied)
	}
}

func TestClientBadAnswers(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		get    bool
	}{
		{"get closed early", "listen_port=1\n", true},
		{"get garbage", "hello\n\n", true},
		{"set closed early", "", false},
		{"set garbage", "ok\n\n", false},
		{"set errno not a number", "errno=x\n\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := net.Pipe()
			go io.Copy(io.Discard, server) // the request; ends when server closes
			go func() {
				io.WriteString(server, tt.answer)
				server.Close()
			}()
			var err error
			if tt.get {
				_, err = Get(client)
			} else {
				err = Set(client, &wgtypes.Config{})
			}
			if !errors.Is(err, ErrProtocol) {
				t.Errorf("err = %v, want EPROTO", err)
			}
		})
	}
}

func TestServeConcurrentClients(t *testing.T) {
	h := &fakeHandler{state: testDevice()}
	dir, name := startServer(t, h)
	const clients, requests = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := Dial(dir, name)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range requests {
				if err := Set(c, &wgtypes.Config{ListenPort: ptr(uint16(i*100 + j))}); err != nil {
					errs <- err
					return
				}
				if _, err := Get(c); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := h.nApplied(); n != clients*requests {
		t.Errorf("applied %d, want %d", n, clients*requests)
	}
}

// TestServeHostileClients checks that broken requests are refused or cut
// off, never applied, and do not disturb another connection.
func TestServeHostileClients(t *testing.T) {
	h := &fakeHandler{state: testDevice()}
	dir, name := startServer(t, h)
	good := dialTest(t, dir, name)
	goodR := bufio.NewReader(good)

	tests := []struct {
		name, req, want string
		// The server closes with our request unread, so the kernel may
		// reset the connection before the answer is read.
		mayReset bool
	}{
		{"unknown operation", "put=1\n\n", "", false},
		{"binary", "\x00\xff\xfe\n\n", "", false},
		{"op line too long", strings.Repeat("s", 2*MaxLineLength) + "\n", "", true},
		{"body line too long", "set=1\nlisten_port=" + strings.Repeat("9", 2*MaxLineLength) + "\n\n", "errno=-22\n\n", true},
		{"set cut short", "set=1\nlisten_port=1\n", "errno=-71\n\n", false},
		{"set cut mid-line", "set=1\nlisten_port=1", "errno=-71\n\n", false},
		{"get cut short", "get=1\n", "", false},
		{"get=2", "get=2\n\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialTest(t, dir, name)
			io.WriteString(c, tt.req)
			if uc, ok := c.(*net.UnixConn); ok {
				uc.CloseWrite()
			}
			rest, err := io.ReadAll(c)
			if tt.mayReset && errors.Is(err, syscall.ECONNRESET) {
				err, tt.want = nil, string(rest)
			}
			if err != nil {
				t.Fatalf("server did not close the connection: %v", err)
			}
			if string(rest) != tt.want {
				t.Errorf("answered %q, want %q", rest, tt.want)
			}
			if n := h.nApplied(); n != 0 {
				t.Errorf("Apply called %d times", n)
			}
			if got := exchange(t, good, goodR, "set=1\n\n"); got != "errno=0\n\n" {
				t.Errorf("good connection answered %q", got)
			}
			h.mu.Lock()
			h.applied = nil
			h.mu.Unlock()
		})
	}
}

func TestServeClosesConnectionsOnStop(t *testing.T) {
	before := runtime.NumGoroutine()
	dir, name := t.TempDir(), "wutest"
	l, err := Listen(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(l, &fakeHandler{state: &wgtypes.Device{}}, nil) }()
	c := dialTest(t, dir, name)
	if _, err := Get(c); err != nil { // the connection is being served
		t.Fatal(err)
	}
	l.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Errorf("connection still open after Serve returned (read %d bytes)", n)
	}
	c.Close()
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d goroutines after Serve returned, %d before", runtime.NumGoroutine(), before)
}

func TestServeNilState(t *testing.T) {
	dir, name := startServer(t, &fakeHandler{})
	c := dialTest(t, dir, name)
	if _, err := Get(c); !errors.Is(err, ErrIO) {
		t.Errorf("Get = %v, want EIO", err)
	}
}
