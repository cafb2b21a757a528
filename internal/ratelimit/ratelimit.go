// Package ratelimit limits handshake initiations per source address when a
// responder is under load (whitepaper §5.3). Time is passed in; memory is
// bounded. It imports nothing of this module.
package ratelimit

import (
	"net/netip"
	"time"
)

// Limiter is a per-source token bucket. The zero value is not usable; use New.
// It is safe for concurrent use.
type Limiter struct{}

// New returns an empty limiter.
func New() *Limiter { panic("unimplemented") }

// Allow reports whether one more handshake from addr may be processed at now.
// IPv6 addresses are grouped by /64.
func (l *Limiter) Allow(addr netip.Addr, now time.Time) bool { panic("unimplemented") }
