// Package ratelimit limits handshake initiations per source address when a
// responder is under load (whitepaper §5.3). Time is passed in; memory is
// bounded. It imports nothing of this module.
//
// Each source has a token bucket that refills at PacketsPerSecond up to
// Burst packets. A source is an IPv4 address or an IPv6 /64 (one host
// usually owns a whole /64, so finer grouping would let it multiply its
// allowance); IPv4-mapped IPv6 addresses count as their IPv4 address.
//
// Memory policy: at most MaxSources buckets exist. A bucket idle for longer
// than StaleAfter is full again, so forgetting it changes nothing; such
// buckets are swept lazily from Allow, at most once per StaleAfter in the
// normal course, and at most once per fullSweepInterval when the table is
// full and a new source knocks. When the table is full and nothing is
// stale, new sources are denied rather than the table grown: sources
// already tracked keep their allowance, so a flood of spoofed addresses
// cannot push out a peer that keeps talking. No goroutines are started.
package ratelimit

import (
	"net/netip"
	"sync"
	"time"
)

const (
	// PacketsPerSecond is the sustained rate allowed per source.
	PacketsPerSecond = 20
	// Burst is how many packets a source may send at once after idling.
	Burst = 5
	// MaxSources bounds how many sources are tracked at once.
	MaxSources = 4096
	// StaleAfter is how long a source must be idle before it is forgotten.
	StaleAfter = time.Second

	// fullSweepInterval limits sweeps forced by a full table, so a flood of
	// new sources costs O(1) per packet on average, not O(MaxSources).
	fullSweepInterval = StaleAfter / 8

	// Tokens are measured in nanoseconds of refill time.
	packetCost = int64(time.Second / PacketsPerSecond)
	maxTokens  = packetCost * Burst
)

// sourceKey is an IPv4 address in its IPv4-mapped IPv6 form, or an IPv6
// /64 with the interface identifier zeroed. The two cannot collide: after
// Unmap an IPv6 source is never IPv4-mapped, and a /64 key has bytes 8..15
// zero while an IPv4 key has 0xffff in bytes 10..11.
type sourceKey [16]byte

func keyOf(addr netip.Addr) sourceKey {
	addr = addr.Unmap()
	k := sourceKey(addr.As16())
	if addr.Is6() {
		clear(k[8:])
	}
	return k
}

type bucket struct {
	last   time.Time // when tokens were last brought up to date
	tokens int64     // nanoseconds of refill, at most maxTokens
}

// Limiter is a per-source token bucket. The zero value is not usable; use New.
// It is safe for concurrent use.
type Limiter struct {
	mu        sync.Mutex
	buckets   map[sourceKey]bucket
	lastSweep time.Time
}

// New returns an empty limiter.
func New() *Limiter {
	return &Limiter{buckets: make(map[sourceKey]bucket, MaxSources)}
}

// Allow reports whether one more handshake from addr may be processed at now.
// IPv6 addresses are grouped by /64. An invalid addr is never allowed. If
// now goes backwards, buckets simply do not refill until it catches up.
func (l *Limiter) Allow(addr netip.Addr, now time.Time) bool {
	if !addr.IsValid() {
		return false
	}
	k := keyOf(addr)

	l.mu.Lock()
	defer l.mu.Unlock()

	if now.Sub(l.lastSweep) >= StaleAfter {
		l.sweep(now)
	}
	b, ok := l.buckets[k]
	if !ok {
		if len(l.buckets) >= MaxSources {
			if now.Sub(l.lastSweep) >= fullSweepInterval {
				l.sweep(now)
			}
			if len(l.buckets) >= MaxSources {
				return false
			}
		}
		l.buckets[k] = bucket{last: now, tokens: maxTokens - packetCost}
		return true
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.tokens+int64(elapsed), maxTokens)
		b.last = now
	}
	allowed := b.tokens >= packetCost
	if allowed {
		b.tokens -= packetCost
	}
	l.buckets[k] = b
	return allowed
}

// sweep forgets every bucket idle for longer than StaleAfter.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.last) > StaleAfter {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}

// Len returns how many sources are tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
