// Package clock is the engine's only source of time: an interface with a real
// implementation and a manual one for tests, so that timers covering hours of
// protocol time run in milliseconds. It imports nothing of this module.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and schedules callbacks.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a scheduled callback; see time.Timer for the contract of Stop and Reset.
type Timer interface {
	Stop() bool
	Reset(d time.Duration) bool
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Manual is a clock that moves only when Advance is called. Callbacks due
// during an Advance run synchronously, in deadline order, in the goroutine
// that called Advance. The zero value is not usable; use NewManual.
type Manual struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

// NewManual returns a Manual clock set to start.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now returns the clock's current time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// AfterFunc schedules f at Now()+d.
func (m *Manual) AfterFunc(d time.Duration, f func()) Timer {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &manualTimer{m: m, f: f, when: m.now.Add(d), active: true}
	m.timers = append(m.timers, t)
	return t
}

// Advance moves the clock forward by d, firing every timer that falls due,
// including timers that callbacks schedule within the interval.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	end := m.now.Add(d)
	m.mu.Unlock()
	for {
		m.mu.Lock()
		var next *manualTimer
		live := m.timers[:0]
		for _, t := range m.timers {
			if t.active {
				live = append(live, t)
			}
		}
		m.timers = live
		sort.SliceStable(m.timers, func(i, j int) bool { return m.timers[i].when.Before(m.timers[j].when) })
		if len(m.timers) > 0 && !m.timers[0].when.After(end) {
			next = m.timers[0]
			next.active = false
			if next.when.After(m.now) {
				m.now = next.when
			}
		}
		if next == nil {
			m.now = end
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		next.f()
	}
}

type manualTimer struct {
	m      *Manual
	f      func()
	when   time.Time
	active bool
}

func (t *manualTimer) Stop() bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	was := t.active
	t.active = false
	return was
}

func (t *manualTimer) Reset(d time.Duration) bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	was := t.active
	t.when = t.m.now.Add(d)
	if !was {
		t.m.timers = append(t.m.timers, t)
	}
	t.active = true
	return was
}
