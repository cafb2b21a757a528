package webui

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// Login attempts (password, setup, password change) are limited by token
// buckets: per source address (an IPv6 source by its /64) and for all
// sources together. A source may try loginBurst times at once, then once
// per loginEvery; all sources together globalBurst times, then one per
// globalEvery. A success refills its source's bucket.
const (
	loginBurst  = 5
	loginEvery  = 10 * time.Second
	globalBurst = 30
	globalEvery = 500 * time.Millisecond
	// maxSources bounds the table; when it is full, sources whose bucket
	// is full again are forgotten first, then the limiter refuses new
	// sources until some are (the global bucket still limits everyone).
	maxSources = 4096
)

type bucket struct {
	tokens float64
	at     time.Time
}

// take refills b for the time since its last use at one token per every
// (up to burst) and takes a token if there is one; otherwise it says how
// long until there is.
func (b *bucket) take(now time.Time, burst float64, every time.Duration) (bool, time.Duration) {
	if b.at.IsZero() {
		b.tokens, b.at = burst, now
	}
	if el := now.Sub(b.at); el > 0 {
		b.tokens = math.Min(burst, b.tokens+el.Seconds()/every.Seconds())
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(every))
}

// limiter is the login rate limiter.
type limiter struct {
	now     func() time.Time
	mu      sync.Mutex
	global  bucket
	sources map[netip.Prefix]*bucket
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, sources: map[netip.Prefix]*bucket{}}
}

// sourceKey is the address's /32 (IPv4) or /64 (IPv6): one host of ours
// rarely has a whole /64, an attacker usually does.
func sourceKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// allow takes one attempt for src; if refused, retry says when to try
// again.
func (l *limiter) allow(src netip.Addr) (ok bool, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	key := sourceKey(src)
	b := l.sources[key]
	if b == nil {
		if len(l.sources) >= maxSources {
			l.sweep(now)
		}
		if len(l.sources) >= maxSources {
			return false, loginEvery
		}
		b = &bucket{}
		l.sources[key] = b
	}
	// Check the source first: one source's refusals do not use up the
	// global budget.
	probe := *b
	if ok, retry := probe.take(now, loginBurst, loginEvery); !ok {
		*b = probe
		return false, retry
	}
	if ok, retry := l.global.take(now, globalBurst, globalEvery); !ok {
		return false, retry
	}
	*b = probe
	return true, 0
}

// success refills src's bucket.
func (l *limiter) success(src netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.sources, sourceKey(src))
}

// sweep forgets sources whose bucket has refilled.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.sources {
		if now.Sub(b.at) >= loginEvery*loginBurst {
			delete(l.sources, k)
		}
	}
}
