package winnet

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestBootRetry(t *testing.T) {
	transient := errors.New("not yet")
	fatal := errors.New("broken")
	always := func(error) bool { return true }
	onlyTransient := func(err error) bool { return errors.Is(err, transient) }
	cases := []struct {
		name      string
		uptime    func(start time.Time) func() time.Duration
		retryable func(error) bool
		failures  []error // op's results before it succeeds
		wantTries int
		wantErr   error
	}{
		{"succeeds at once", bootAt(0), always, nil, 1, nil},
		{"transient at boot", bootAt(10 * time.Second), onlyTransient, []error{transient, transient}, 3, nil},
		{"fatal at boot", bootAt(10 * time.Second), onlyTransient, []error{fatal}, 1, fatal},
		{"long after boot", bootAt(time.Hour), always, []error{transient}, 1, transient},
		// Retries stop once the uptime passes the window.
		{"window ends", bootAt(BootWindow - 3*time.Second), always, repeat(transient, 100), 4, transient},
		// A clock that stands still still stops: Window/Interval+1 tries.
		{"uptime stuck", func(time.Time) func() time.Duration { return func() time.Duration { return 0 } },
			always, repeat(transient, 1000), int(BootWindow/BootRetryInterval) + 1, transient},
		{"no uptime: no retries", func(time.Time) func() time.Duration { return nil }, always, []error{transient}, 1, transient},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tries, logged := 0, 0
				b := BootRetry{Uptime: c.uptime(time.Now()), Logf: func(string, ...any) { logged++ }}
				err := b.Do(t.Context(), "test", c.retryable, func() error {
					tries++
					if tries <= len(c.failures) {
						return c.failures[tries-1]
					}
					return nil
				})
				if !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
					t.Errorf("Do = %v, want %v", err, c.wantErr)
				}
				if tries != c.wantTries || logged != tries-1 {
					t.Errorf("%d tries, %d logged; want %d tries, each retry logged", tries, logged, c.wantTries)
				}
			})
		})
	}
}

func TestBootRetryContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
		defer cancel()
		tries := 0
		err := BootRetry{Uptime: bootAt(0)(time.Now())}.Do(ctx, "test", func(error) bool { return true },
			func() error { tries++; return ErrNotFound })
		if !errors.Is(err, ErrNotFound) || !errors.Is(err, context.DeadlineExceeded) || tries != 3 {
			t.Errorf("Do = %v after %d tries", err, tries)
		}
	})
}

// bootAt returns an uptime that was up at start and grows with the clock.
func bootAt(up time.Duration) func(time.Time) func() time.Duration {
	return func(start time.Time) func() time.Duration {
		return func() time.Duration { return up + time.Since(start) }
	}
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}
