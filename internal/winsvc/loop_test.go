package winsvc

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
)

// loopTunnel is a Tunnel whose Down takes downTime and returns downErr,
// and which dies when the test sends on died.
type loopTunnel struct {
	downTime time.Duration
	downErr  error
	died     chan error
	downs    int
}

func (t *loopTunnel) Up(*conf.File) error { return nil }
func (t *loopTunnel) Down() error {
	t.downs++
	time.Sleep(t.downTime)
	return t.downErr
}
func (t *loopTunnel) Died() <-chan error { return t.died }

// testRequest is a change request: what it asks, and where the answer to
// an interrogation goes.
type testRequest struct {
	kind    request
	answers chan<- struct{}
}

type loopHarness struct {
	requests chan testRequest
	mu       sync.Mutex
	statuses []loopStatus
	logs     []string
	exits    []int
	code     uint32
	err      error
	done     chan struct{}
}

// startLoop runs a serviceLoop over up in the background.
func startLoop(up func() (Tunnel, error)) *loopHarness {
	h := &loopHarness{requests: make(chan testRequest), done: make(chan struct{})}
	l := &serviceLoop[testRequest]{
		name:     "wg0",
		up:       up,
		requests: h.requests,
		kind:     func(r testRequest) request { return r.kind },
		answer:   func(r testRequest) { r.answers <- struct{}{} },
		report: func(s loopStatus) {
			h.mu.Lock()
			h.statuses = append(h.statuses, s)
			h.mu.Unlock()
		},
		logf: func(kind, format string, args ...any) {
			h.mu.Lock()
			h.logs = append(h.logs, kind+": "+fmt.Sprintf(format, args...))
			h.mu.Unlock()
		},
		watchdog: StopWatchdog,
		exit: func(code int) {
			h.mu.Lock()
			h.exits = append(h.exits, code)
			h.mu.Unlock()
		},
	}
	go func() {
		h.code, h.err = l.run()
		close(h.done)
	}()
	return h
}

func (h *loopHarness) states() []loopState {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []loopState
	for _, s := range h.statuses {
		if len(out) == 0 || out[len(out)-1] != s.State {
			out = append(out, s.State)
		}
	}
	return out
}

func (h *loopHarness) log() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.logs, "\n")
}

func (h *loopHarness) interrogate(t *testing.T) {
	t.Helper()
	answers := make(chan struct{}, 1)
	h.requests <- testRequest{requestInterrogate, answers}
	select {
	case <-answers:
	case <-time.After(time.Hour):
		t.Fatal("interrogation not answered")
	}
}

func sameStates(a, b []loopState) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func TestLoopStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tun := &loopTunnel{downTime: 2 * time.Second}
		h := startLoop(func() (Tunnel, error) { return tun, nil })
		h.interrogate(t)
		h.requests <- testRequest{kind: requestStop}
		h.interrogate(t) // while stopping
		<-h.done
		if h.code != 0 || h.err != nil || tun.downs != 1 {
			t.Fatalf("exit %d, %v, %d downs; want 0 after one Down", h.code, h.err, tun.downs)
		}
		if got := h.states(); !sameStates(got, []loopState{stateRunning, stateStopping}) {
			t.Errorf("states %v", got)
		}
	})
}

// TestLoopDownFails: a requested stop whose teardown reports errors (a
// PostDown command that fails, say) still exits 0, with the errors
// reported: with recovery actions on non-crash failures, any other exit
// code makes the service manager restart the tunnel the administrator
// just stopped.
func TestLoopDownFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tun := &loopTunnel{downErr: errors.New("route stuck")}
		h := startLoop(func() (Tunnel, error) { return tun, nil })
		h.interrogate(t)
		h.requests <- testRequest{kind: requestStop}
		<-h.done
		if h.code != 0 || h.err == nil || !strings.Contains(h.err.Error(), "route stuck") {
			t.Fatalf("exit %d, %v; want 0 with the teardown's error", h.code, h.err)
		}
	})
}

func TestLoopUpFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startLoop(func() (Tunnel, error) { return nil, errors.New("no wintun.dll") })
		<-h.done
		if h.code != ExitUpFailed || h.err == nil || !strings.Contains(h.err.Error(), "no wintun.dll") {
			t.Fatalf("exit %d, %v", h.code, h.err)
		}
		if got := h.states(); !sameStates(got, []loopState{stateStopping}) {
			t.Errorf("states %v", got)
		}
	})
}

// TestLoopSlowStart: a start that takes minutes (boot retries, waiting for
// TCP/IP) keeps telling the service manager it progresses, and answers
// interrogations.
func TestLoopSlowStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tun := &loopTunnel{}
		h := startLoop(func() (Tunnel, error) { time.Sleep(time.Minute); return tun, nil })
		time.Sleep(30 * time.Second)
		h.interrogate(t)
		time.Sleep(31 * time.Second)
		h.mu.Lock()
		var checkpoints []uint32
		for _, s := range h.statuses {
			if s.State == stateStarting {
				checkpoints = append(checkpoints, s.CheckPoint)
			}
		}
		h.mu.Unlock()
		if len(checkpoints) < 10 || checkpoints[0] != 1 || checkpoints[len(checkpoints)-1] != uint32(len(checkpoints)) {
			t.Errorf("start checkpoints %v; want 1, 2, 3... every %v", checkpoints, heartbeat)
		}
		h.requests <- testRequest{kind: requestStop}
		<-h.done
		if h.code != 0 {
			t.Errorf("exit %d, %v", h.code, h.err)
		}
	})
}

// TestLoopStopWhileStarting: a Shutdown during a slow start takes the
// tunnel down as soon as it is up.
func TestLoopStopWhileStarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tun := &loopTunnel{}
		h := startLoop(func() (Tunnel, error) { time.Sleep(time.Second); return tun, nil })
		h.requests <- testRequest{kind: requestStop}
		<-h.done
		if h.code != 0 || tun.downs != 1 {
			t.Fatalf("exit %d, %v, %d downs", h.code, h.err, tun.downs)
		}
	})
}

// TestLoopTunnelDied: a tunnel that dies takes the service down with a
// non-zero exit and the reason, logged.
func TestLoopTunnelDied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tun := &loopTunnel{died: make(chan error, 1)}
		h := startLoop(func() (Tunnel, error) { return tun, nil })
		h.interrogate(t)
		tun.died <- errors.New("the Wintun adapter disappeared")
		<-h.done
		if h.code != ExitTunnelDied || h.err == nil || !strings.Contains(h.err.Error(), "adapter disappeared") {
			t.Fatalf("exit %d, %v; want ExitTunnelDied with the reason", h.code, h.err)
		}
		if tun.downs != 1 {
			t.Errorf("%d downs after the tunnel died, want 1", tun.downs)
		}
		if !strings.Contains(h.log(), "error: tunnel wg0 died: the Wintun adapter disappeared") {
			t.Errorf("log:\n%s", h.log())
		}
		if got := h.states(); !sameStates(got, []loopState{stateRunning, stateStopping}) {
			t.Errorf("states %v", got)
		}
	})
}

// TestLoopStuckStop: a teardown stuck for StopWatchdog ends the process,
// logged with the goroutines' stacks.
func TestLoopStuckStop(t *testing.T) {
	for _, died := range []bool{false, true} {
		t.Run(fmt.Sprintf("died=%v", died), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tun := &loopTunnel{downTime: time.Hour, died: make(chan error, 1)}
				h := startLoop(func() (Tunnel, error) { return tun, nil })
				h.interrogate(t)
				start := time.Now()
				if died {
					tun.died <- errors.New("the engine closed")
				} else {
					h.requests <- testRequest{kind: requestStop}
				}
				<-h.done
				if took := time.Since(start); took != StopWatchdog {
					t.Errorf("watchdog fired after %v, want %v", took, StopWatchdog)
				}
				if len(h.exits) != 1 || h.exits[0] != ExitStuck || !errors.Is(h.err, ErrStuck) {
					t.Fatalf("exits %v, err %v; want one exit(ExitStuck)", h.exits, h.err)
				}
				// A requested stop reports "stopped" before the process ends,
				// so that recovery does not restart what was stopped; a
				// tunnel that died does not, so that recovery does.
				h.mu.Lock()
				last := h.statuses[len(h.statuses)-1].State
				h.mu.Unlock()
				if want := map[bool]loopState{false: stateStopped, true: stateStopping}[died]; last != want {
					t.Errorf("last status %v before the watchdog's exit, want %v", last, want)
				}
				if log := h.log(); !strings.Contains(log, "still not done after 30s") || !strings.Contains(log, "goroutine ") {
					t.Errorf("log:\n%s", log)
				}
				// The stacks go to the ring log only (kind detail): their
				// argument words may hold key bytes, and errors also go to
				// the event log, which every interactive user may read.
				h.mu.Lock()
				for _, l := range h.logs {
					if strings.Contains(l, "goroutine ") && !strings.HasPrefix(l, logDetail+": ") {
						t.Errorf("goroutine stacks logged as %q, not %s", l[:strings.IndexByte(l, ':')], logDetail)
					}
				}
				h.mu.Unlock()
				time.Sleep(time.Hour) // let the stuck Down finish before the bubble ends
			})
		})
	}
}

// TestLoopStopInTime: a teardown just under the watchdog is not killed.
func TestLoopStopInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tun := &loopTunnel{downTime: StopWatchdog - time.Second}
		h := startLoop(func() (Tunnel, error) { return tun, nil })
		h.interrogate(t)
		h.requests <- testRequest{kind: requestStop}
		<-h.done
		if h.code != 0 || len(h.exits) != 0 {
			t.Fatalf("exit %d, %v, exits %v", h.code, h.err, h.exits)
		}
	})
}
