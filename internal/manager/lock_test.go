package manager

import (
	"errors"
	"testing"
	"time"
)

// An administrator's change waits for the expiry check, which holds a
// tunnel briefly, instead of failing as busy (seen under wine's slower
// timing as TestClientsFollowEdits' edit failing "busy"); a change still
// fails at once while another change holds the tunnel.
func TestChangeWaitsForExpiryCheck(t *testing.T) {
	m := &Manager{busy: map[string]lockHolder{}}
	unlockExpiry, err := m.lockAs("wg0", holderExpiry)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		released <- time.Now()
		unlockExpiry()
	}()
	unlock, err := m.lock("wg0")
	if err != nil {
		t.Fatalf("a change while the expiry check held the tunnel: %v", err)
	}
	if got := <-released; time.Now().Before(got) {
		t.Error("the change got the lock before the check let go")
	}
	start := time.Now()
	if _, err := m.lock("wg0"); !errors.Is(err, ErrBusy) {
		t.Errorf("a change while another change holds the tunnel: %v, want ErrBusy", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a change behind another change waited %v; it fails at once", d)
	}
	if _, err := m.lockAs("wg0", holderExpiry); !errors.Is(err, ErrBusy) {
		t.Errorf("the check while a change holds the tunnel: %v, want ErrBusy", err)
	}
	unlock()
	if u, err := m.lock("wg0"); err != nil {
		t.Errorf("after unlock: %v", err)
	} else {
		u()
	}
}
