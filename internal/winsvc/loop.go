package winsvc

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Service-specific exit codes of a tunnel service. The service manager
// records them (`sc query` shows WIN32_EXIT_CODE 1066,
// ERROR_SERVICE_SPECIFIC_ERROR, and the code as SERVICE_EXIT_CODE), and
// recovery actions set to act on non-crash failures restart the service.
const (
	// ExitUpFailed: the tunnel did not come up.
	ExitUpFailed = 1
	// 2 is not used: a requested stop exits 0 even when taking the tunnel
	// down reported errors (they are logged), since with recovery actions
	// on non-crash failures any other code makes the service manager
	// restart the tunnel that was just stopped.

	// ExitTunnelDied: the tunnel died while running (its adapter
	// disappeared, the engine closed, the Wintun ring failed).
	ExitTunnelDied = 3
	// ExitStuck: taking the tunnel down took longer than StopWatchdog;
	// the process ended itself with this code.
	ExitStuck = 4
)

// StopWatchdog bounds taking a tunnel down: a teardown still running
// after it is taken to be deadlocked, and the process ends itself (the
// service manager then counts a failure, and the system removes the
// dynamic firewall session and the adapter's handles with the process).
const StopWatchdog = 30 * time.Second

// heartbeat is how often a pending start or stop tells the service
// manager that it is making progress.
const heartbeat = 5 * time.Second

// ErrStuck is wrapped when the stop watchdog fired.
var ErrStuck = errors.New("taking the tunnel down is stuck")

// request is what the service manager asks, as the loop sees it.
type request int

const (
	requestOther request = iota
	requestInterrogate
	requestStop // Stop or Shutdown
)

// loopState is the service state the loop reports.
type loopState int

const (
	stateStarting loopState = iota + 1
	stateRunning
	stateStopping
	// stateStopped is reported only by the watchdog of a requested stop,
	// just before it ends the process: a process that ends while "stopping"
	// counts as a crash, and the recovery actions would restart the tunnel
	// the administrator just stopped.
	stateStopped
)

// loopStatus is one status report to the service manager. CheckPoint
// grows while a start or stop is pending, WaitHint says how long until
// the next report.
type loopStatus struct {
	State      loopState
	CheckPoint uint32
	WaitHint   time.Duration
}

// serviceLoop is a tunnel service's life from start to exit, apart from
// the service manager's types (R is its change request), so that its
// decisions are tested on every platform:
//   - the tunnel does not come up: exit ExitUpFailed;
//   - Stop or Shutdown: take the tunnel down; exit 0, with the errors
//     that reported if any (a non-zero code would have recovery actions
//     start the tunnel again);
//   - the tunnel dies on its own (Tunnel.Died): take it down, exit
//     ExitTunnelDied with the reason;
//   - a teardown still running after watchdog: log, and exit the process
//     with ExitStuck.
//
// Interrogations are answered throughout.
type serviceLoop[R any] struct {
	name     string
	up       func() (Tunnel, error)
	requests <-chan R
	kind     func(R) request
	answer   func(R)
	report   func(loopStatus)
	logf     func(kind, format string, args ...any)
	watchdog time.Duration
	beat     time.Duration
	exit     func(code int)
}

// run runs the loop and returns the service-specific exit code (0 for a
// requested stop) and, for a non-zero one, why; a requested stop whose
// teardown reported errors returns 0 and those errors.
func (l *serviceLoop[R]) run() (uint32, error) {
	if l.beat <= 0 {
		l.beat = heartbeat
	}
	t, stop, err := l.start()
	if err != nil {
		l.report(loopStatus{State: stateStopping})
		return ExitUpFailed, err
	}
	l.report(loopStatus{State: stateRunning})
	l.logf("info", "tunnel %s is up", l.name)
	if stop {
		return l.down(t, nil)
	}
	for {
		select {
		case r, ok := <-l.requests:
			if !ok {
				l.requests = nil
				continue
			}
			switch l.kind(r) {
			case requestInterrogate:
				l.answer(r)
			case requestStop:
				return l.down(t, nil)
			}
		case err := <-t.Died():
			if err == nil {
				err = errors.New("the tunnel stopped")
			}
			return l.down(t, err)
		}
	}
}

// start brings the tunnel up, telling the service manager it is still
// starting every beat and answering interrogations meanwhile. stop says
// a Stop or Shutdown came in the meantime (the service manager sends
// none before the service accepts them, but a shutdown may not wait).
func (l *serviceLoop[R]) start() (_ Tunnel, stop bool, _ error) {
	type result struct {
		t   Tunnel
		err error
	}
	done := make(chan result, 1)
	go func() {
		t, err := l.up()
		done <- result{t, err}
	}()
	tick := time.NewTicker(l.beat)
	defer tick.Stop()
	checkpoint := uint32(0)
	for {
		select {
		case r := <-done:
			return r.t, stop, r.err
		case <-tick.C:
			checkpoint++
			l.report(loopStatus{State: stateStarting, CheckPoint: checkpoint, WaitHint: 2 * l.beat})
		case r, ok := <-l.requests:
			if !ok {
				l.requests = nil
				continue
			}
			switch l.kind(r) {
			case requestInterrogate:
				l.answer(r)
			case requestStop:
				stop = true
			}
		}
	}
}

// down takes t down under the watchdog. died is why the tunnel stopped on
// its own, or nil for a requested stop.
func (l *serviceLoop[R]) down(t Tunnel, died error) (uint32, error) {
	l.report(loopStatus{State: stateStopping, WaitHint: l.watchdog})
	if died != nil {
		l.logf("error", "tunnel %s died: %v; stopping the service", l.name, died)
	}
	done := make(chan error, 1)
	go func() { done <- t.Down() }()
	watchdog := time.NewTimer(l.watchdog)
	defer watchdog.Stop()
	tick := time.NewTicker(l.beat)
	defer tick.Stop()
	checkpoint := uint32(0)
	for {
		select {
		case err := <-done:
			switch {
			case died != nil && err != nil:
				return ExitTunnelDied, fmt.Errorf("%w (and taking it down: %w)", died, err)
			case died != nil:
				return ExitTunnelDied, died
			case err != nil:
				return 0, fmt.Errorf("take down: %w", err)
			}
			l.logf("info", "tunnel %s is down", l.name)
			return 0, nil
		case <-watchdog.C:
			l.logf("error", "tunnel %s: taking it down is still not done after %v, probably deadlocked; ending the process (the goroutines' stacks are in the tunnel's log)",
				l.name, l.watchdog)
			// The stacks to the ring log only (logDetail): their argument
			// words may hold key bytes.
			l.logf(logDetail, "tunnel %s: goroutines when the stop watchdog fired:\n%s", l.name, goroutineStacks(16<<10))
			if died == nil {
				l.report(loopStatus{State: stateStopped})
			}
			l.exit(ExitStuck)
			// Only a test's exit returns.
			return ExitStuck, fmt.Errorf("%w after %v", ErrStuck, l.watchdog)
		case <-tick.C:
			checkpoint++
			l.report(loopStatus{State: stateStopping, CheckPoint: checkpoint, WaitHint: l.watchdog})
		case r, ok := <-l.requests:
			if !ok {
				l.requests = nil
			} else if l.kind(r) == requestInterrogate {
				l.answer(r)
			}
		}
	}
}

// goroutineStacks returns every goroutine's stack, cut at limit bytes.
func goroutineStacks(limit int) string {
	buf := make([]byte, 64<<10)
	n := runtime.Stack(buf, true)
	if n > limit {
		return string(buf[:limit]) + "\n[...]"
	}
	return string(buf[:n])
}
