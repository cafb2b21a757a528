// Package replay implements the sliding-window anti-replay filter for
// transport counters (RFC 6479; whitepaper §5.4.6). It imports nothing of
// this module.
package replay

// WindowSize is how far behind the highest counter seen a packet may arrive
// and still be accepted.
const WindowSize = 8192 - 64 // placeholder; see implementation

// Filter is a replay window. The zero value is ready to use. It is not safe
// for concurrent use; callers serialize per keypair.
type Filter struct{}

// Reset forgets every counter seen.
func (f *Filter) Reset() { panic("unimplemented") }

// Accept reports whether counter is new, below limit and within the window,
// and if so records it. Counters equal to or above limit are rejected.
func (f *Filter) Accept(counter, limit uint64) bool { panic("unimplemented") }
