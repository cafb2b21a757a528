package history

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Tier is one resolution the store keeps, and for how long: Slots buckets
// of Resolution each, the newest ending at the latest sample.
type Tier struct {
	// Resolution is the width of a bucket, a whole number of seconds.
	Resolution time.Duration
	// Slots is how many buckets are kept.
	Slots int
}

// Span is how far back the tier reaches: Resolution × Slots.
func (t Tier) Span() time.Duration { return t.Resolution * time.Duration(t.Slots) }

// seconds is the resolution in whole seconds.
func (t Tier) seconds() int64 { return int64(t.Resolution / time.Second) }

// bucketName is the name of the tier's bbolt bucket.
func (t Tier) bucketName() []byte {
	return []byte("tier/" + strconv.FormatInt(t.seconds(), 10))
}

// slot is the start (unix seconds) of the bucket that holds unix second s.
func (t Tier) slot(s int64) int64 { return s - s%t.seconds() }

// DefaultTiers are 10 s buckets for the last hour, 1 min for the last day,
// 1 h for the last 32 days and 1 day for the last 400 days: 2,968 buckets
// per peer at most, fewer where the peer was idle.
func DefaultTiers() []Tier {
	return []Tier{
		{Resolution: 10 * time.Second, Slots: 360},
		{Resolution: time.Minute, Slots: 1440},
		{Resolution: time.Hour, Slots: 24 * 32},
		{Resolution: 24 * time.Hour, Slots: 400},
	}
}

// ErrInvalidTiers reports a tier configuration the store cannot use.
var ErrInvalidTiers = errors.New("invalid history tiers")

// maxSlots bounds one tier, so that a configuration cannot ask for
// unbounded work per query.
const maxSlots = 100_000

// validateTiers checks that tiers is non-empty, every resolution is a whole
// number of seconds and a multiple of the one before (so every bucket of a
// coarse tier is made of whole buckets of the finer ones), and spans grow.
func validateTiers(tiers []Tier) error {
	if len(tiers) == 0 {
		return fmt.Errorf("%w: none given", ErrInvalidTiers)
	}
	for i, t := range tiers {
		switch {
		case t.Resolution < time.Second || t.Resolution%time.Second != 0:
			return fmt.Errorf("%w: tier %d: resolution %v is not a whole number of seconds", ErrInvalidTiers, i, t.Resolution)
		case t.Slots < 1 || t.Slots > maxSlots:
			return fmt.Errorf("%w: tier %d: %d slots (want 1 to %d)", ErrInvalidTiers, i, t.Slots, maxSlots)
		}
		if i == 0 {
			continue
		}
		prev := tiers[i-1]
		switch {
		case t.Resolution <= prev.Resolution || t.Resolution%prev.Resolution != 0:
			return fmt.Errorf("%w: tier %d: resolution %v is not a larger multiple of %v", ErrInvalidTiers, i, t.Resolution, prev.Resolution)
		case t.Span() < prev.Span():
			return fmt.Errorf("%w: tier %d: span %v is shorter than tier %d's %v", ErrInvalidTiers, i, t.Span(), i-1, prev.Span())
		}
	}
	return nil
}

// tierFor picks the finest tier whose span covers last, or the coarsest.
func tierFor(tiers []Tier, last time.Duration) Tier {
	for _, t := range tiers {
		if t.Span() >= last {
			return t
		}
	}
	return tiers[len(tiers)-1]
}
