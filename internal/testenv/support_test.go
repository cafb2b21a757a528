package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps its cleanups and errors, so that a
// test can run a helper's check and see whether it failed.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	errs     []string
}

func (r *recorder) Helper()             {}
func (r *recorder) Cleanup(f func())    { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// finish runs the cleanups as the testing package does, last first, and
// returns the errors they reported.
func (r *recorder) finish() []string {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs
}

// blockUntil parks a goroutine, whose stack names this package, until
// stop is closed.
func blockUntil(stop chan struct{}, started *sync.WaitGroup) {
	started.Done()
	<-stop
}

// TestCheckGoroutines: a goroutine left running is reported with its
// stack; one stopped by a later cleanup is not; one that ends while the
// check waits is not either.
func TestCheckGoroutines(t *testing.T) {
	for _, tc := range []struct {
		name string
		// stopIn: nil leaks the goroutine; 0 stops it in a cleanup; more
		// stops it that long after the test body.
		stopIn *time.Duration
		leak   bool
	}{
		{"leaked", nil, true},
		{"stopped by a cleanup", new(time.Duration), false},
		{"ends while the check waits", ptr(50 * time.Millisecond), false},
	} {
		for _, byPackage := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/by package %v", tc.name, byPackage), func(t *testing.T) {
				r := &recorder{TB: t}
				if byPackage {
					checkGoroutinesIn(r, "internal/testenv.blockUntil", 300*time.Millisecond)
				} else {
					checkGoroutines(r, 300*time.Millisecond)
				}
				stop := make(chan struct{})
				var started sync.WaitGroup
				started.Add(1)
				go blockUntil(stop, &started)
				started.Wait()
				switch {
				case tc.stopIn == nil:
					defer close(stop) // after the check
				case *tc.stopIn == 0:
					r.Cleanup(func() { close(stop) })
				default:
					time.AfterFunc(*tc.stopIn, func() { close(stop) })
				}
				errs := r.finish()
				if tc.leak && (len(errs) != 1 || !strings.Contains(errs[0], "testenv.blockUntil")) {
					t.Errorf("leaked goroutine: errors %q, want one naming blockUntil", errs)
				}
				if !tc.leak && len(errs) != 0 {
					t.Errorf("no leak, but errors %q", errs)
				}
			})
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestServe: a server that returns nil once stopped passes; one that
// returns an error, or does not return, fails the test.
func TestServe(t *testing.T) {
	for _, tc := range []struct {
		name    string
		result  error
		hang    bool
		wantErr string
	}{
		{"clean stop", nil, false, ""},
		{"error", errors.New("accept: boom"), false, "accept: boom"},
		{"hangs", nil, true, "did not return"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			stopped := make(chan struct{})
			release := make(chan struct{})
			defer close(release)
			serveFor(r, func() error {
				<-stopped
				if tc.hang {
					<-release
				}
				return tc.result
			}, func() error { close(stopped); return nil }, 200*time.Millisecond)
			errs := r.finish()
			if tc.wantErr == "" && len(errs) != 0 || tc.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0], tc.wantErr)) {
				t.Errorf("errors %q, want %q", errs, tc.wantErr)
			}
		})
	}
}

// TestServeConnsAndPackets: the TCP and UDP loops answer every client and
// every datagram, and close their sockets when the test ends.
func TestServeConnsAndPackets(t *testing.T) {
	CheckGoroutines(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("serve", func(t *testing.T) {
		ServeConns(t, l, Echo)
		ServePackets(t, pc, EchoPackets("echo:"))
		for i := range 3 {
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "line %d\n", i)
			if got, err := bufio.NewReader(c).ReadString('\n'); err != nil || got != fmt.Sprintf("line %d\n", i) {
				t.Errorf("TCP echo: %q, %v", got, err)
			}
			c.Close()
		}
		u, err := net.Dial("udp", pc.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		buf := make([]byte, 100)
		for try := 0; ; try++ {
			u.Write([]byte("hi"))
			u.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, err := u.Read(buf)
			if err == nil {
				if string(buf[:n]) != "echo:hi" {
					t.Errorf("UDP echo: %q", buf[:n])
				}
				break
			}
			if try == 10 {
				t.Fatal(err)
			}
		}
	})
	if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
		c.Close()
		t.Error("the listener still accepts after the test ended")
	}
	if _, err := pc.WriteTo([]byte("x"), pc.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write on the packet conn after the test ended: %v, want net.ErrClosed", err)
	}
}

// TestAsNobody runs this test binary as nobody, which sees its own uid
// and gid and no supplementary groups.
func TestAsNobody(t *testing.T) {
	if os.Getenv("TESTENV_NOBODY") == "1" {
		fmt.Printf("ids %d %d %v\n", os.Getuid(), os.Getgid(), func() []int { g, _ := os.Getgroups(); return g }())
		return
	}
	var dir string
	t.Run("run", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := AsNobody(ctx, t, "-test.run=^TestAsNobody$", "-test.v")
		dir = cmd.Dir
		cmd.Env = []string{"TESTENV_NOBODY=1"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("as nobody: %v\n%s", err, out)
		}
		if want := fmt.Sprintf("ids %d %d []\n", Nobody, Nobody); !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	})
	if _, err := os.Stat(dir); dir != "" && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the copy's directory %s after the test: %v, want it removed", dir, err)
	}
}
