// Package replay implements the sliding-window anti-replay filter for
// transport counters (RFC 6479; whitepaper §5.4.6). It imports nothing of
// this module.
//
// The window is a ring of 64-bit blocks. Moving the window forward clears
// whole blocks instead of shifting bits, so both in-order and out-of-order
// counters cost O(1) and nothing is allocated.
package replay

const (
	blockBits  = 64                     // bits in one ring block
	blockShift = 6                      // log2(blockBits)
	ringBlocks = 128                    // blocks in the ring; a power of two
	ringMask   = ringBlocks - 1         // index mask for the ring
	ringBits   = ringBlocks * blockBits // 8192 counters tracked

	// WindowSize is how far behind the highest counter seen a packet may
	// arrive and still be accepted: counter is inside the window when
	// highest-counter <= WindowSize, as in the Linux and reference
	// implementations. One block of the ring is kept as slack (RFC 6479 §2)
	// so that the block being filled never shares a slot with the oldest.
	WindowSize = ringBits - blockBits // 8128
)

// Filter is a replay window. The zero value is ready to use. It is not safe
// for concurrent use; callers serialize per keypair.
type Filter struct {
	last uint64             // highest counter accepted (0 with no bit set when fresh)
	ring [ringBlocks]uint64 // bit i of block b is counter b*64+i (mod ring)
}

// Reset forgets every counter seen.
func (f *Filter) Reset() {
	f.last = 0
	clear(f.ring[:])
}

// Accept reports whether counter is new, below limit and within the window,
// and if so records it. Counters equal to or above limit are rejected.
func (f *Filter) Accept(counter, limit uint64) bool {
	if counter >= limit {
		return false
	}
	block := counter >> blockShift
	if counter > f.last {
		// Slide forward: clear every block between the old top block
		// (exclusive) and the new one (inclusive), at most the whole ring.
		cur := f.last >> blockShift
		n := block - cur
		if n > ringBlocks {
			n = ringBlocks
		}
		for i := uint64(1); i <= n; i++ {
			f.ring[(cur+i)&ringMask] = 0
		}
		f.last = counter
	} else if f.last-counter > WindowSize {
		return false
	}
	bit := uint64(1) << (counter & (blockBits - 1))
	b := &f.ring[block&ringMask]
	if *b&bit != 0 {
		return false
	}
	*b |= bit
	return true
}
