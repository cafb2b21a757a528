package manager_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/manager"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// The sampler's snapshots reach the history store, which keeps them
// across a restart of the manager.
func TestHistory(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	f := newFixture(t, func(o *manager.Options) { o.History = true; o.Now = clock.now })
	self, alice := newKey(t), newKey(t)
	f.m.Import("wg0", []byte(config(self, 1, "alice", alice, "10.8.0.2/32")))
	f.m.Activate(context.Background(), "wg0")
	for i, rx := range []uint64{1000, 3000, 7000} {
		f.sys.SetStats("wg0", alice.pub, rx, uint64(i)*10, time.Time{})
		f.m.Sampler().SampleNow()
		clock.add(10 * time.Second)
	}
	// Close records every snapshot taken and flushes; the history is
	// there after a restart.
	if err := f.m.Close(); err != nil {
		t.Fatal(err)
	}
	m2, err := manager.New(manager.Options{System: f.sys, Store: f.store, StateDir: f.state, Argon2: cheap, History: true, Now: clock.now, SamplePeriod: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	s, err := m2.History("wg0", &alice.pub, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if s.RxBytes != 6000 || s.Resolution != 10*time.Second {
		t.Errorf("history: %d bytes at %v, want 6000 (the first sample is the baseline) at 10s", s.RxBytes, s.Resolution)
	}
	s, err = m2.History("wg0", nil, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if s.RxBytes != 6000 {
		t.Errorf("after a restart: %d bytes, want 6000", s.RxBytes)
	}
	if _, err := m2.History("../x", nil, time.Hour); !errors.Is(err, manager.ErrBadName) {
		t.Errorf("bad name: %v", err)
	}
}

func TestNoHistory(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.m.History("wg0", nil, time.Hour); !errors.Is(err, manager.ErrNoHistory) {
		t.Errorf("without history: %v", err)
	}
}
