package winnet

import (
	"context"
	"fmt"
	"time"
)

// Boot retry defaults: early in boot, the adapter's driver, the network
// stack's NSI service and the DNS client come up in no fixed order, and
// creating or configuring the adapter fails for a while with errors that
// mean "not yet". WireGuard for Windows retries for about 15 seconds when
// started at boot; warren retries for as long as the machine has been up
// less than BootWindow.
const (
	BootWindow        = 4 * time.Minute
	BootRetryInterval = time.Second
)

// BootRetry retries an operation that can fail transiently at boot, for
// as long as the system has been up less than Window.
type BootRetry struct {
	// Uptime returns how long the system has been up; nil never retries.
	Uptime func() time.Duration
	// Window and Interval default to BootWindow and BootRetryInterval.
	Window, Interval time.Duration
	// Logf, if not nil, is told each failure that is retried and why.
	Logf func(format string, args ...any)
}

// Do runs op until it succeeds, fails with an error retryable does not
// accept, ctx ends, or the boot window has passed, and returns op's last
// error. Each retry is logged with the uptime and the reason. The number
// of attempts is bounded by Window/Interval even if Uptime stands still.
func (b BootRetry) Do(ctx context.Context, what string, retryable func(error) bool, op func() error) error {
	window, interval := b.Window, b.Interval
	if window <= 0 {
		window = BootWindow
	}
	if interval <= 0 {
		interval = BootRetryInterval
	}
	maxTries := int(window/interval) + 1
	for try := 1; ; try++ {
		err := op()
		if err == nil || b.Uptime == nil || !retryable(err) || try >= maxTries {
			return err
		}
		up := b.Uptime()
		if up >= window {
			return err
		}
		if b.Logf != nil {
			b.Logf("%s failed %v after boot, retrying (system still starting): %v", what, up.Round(time.Second), err)
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (retries cut short: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}
