package testenv

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// leakWait is how long goroutines get to wind down after a test before
// CheckGoroutines and CheckGoroutinesIn call them leaked.
const leakWait = 5 * time.Second

// CheckGoroutines fails t if, after the test and the cleanups registered
// after this call, more goroutines run than when it was called; the
// error lists every goroutine's stack. Call it first in a test, so that
// its check runs after everything the test set up has been closed.
func CheckGoroutines(t testing.TB) {
	t.Helper()
	checkGoroutines(t, leakWait)
}

func checkGoroutines(t testing.TB, wait time.Duration) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(wait)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				t.Errorf("leaked goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), allStacks())
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// CheckGoroutinesIn fails t if, after the test and the cleanups
// registered after this call, a goroutine whose stack mentions fragment
// (a package, as "internal/device.") still runs, other than the testing
// package's own; the error lists those goroutines. Unlike CheckGoroutines
// it ignores what other packages leave winding down (the runtime, an
// HTTP client's idle connections), for a package all of whose goroutines
// must end with the test.
func CheckGoroutinesIn(t testing.TB, fragment string) {
	t.Helper()
	checkGoroutinesIn(t, fragment, leakWait)
}

func checkGoroutinesIn(t testing.TB, fragment string, wait time.Duration) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(wait)
		for {
			var leaked []string
			for _, g := range strings.Split(allStacks(), "\n\n") {
				if strings.Contains(g, fragment) && !strings.Contains(g, "testing.") {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines of %s leaked:\n%s", len(leaked), fragment, strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// allStacks is the stack of every goroutine, as runtime.Stack writes them
// (separated by blank lines), up to 1 MiB.
func allStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}
