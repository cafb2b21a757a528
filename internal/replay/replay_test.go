package replay

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

const noLimit = math.MaxUint64

type step struct {
	counter uint64
	want    bool
}

func run(t *testing.T, f *Filter, limit uint64, steps []step) {
	t.Helper()
	for i, s := range steps {
		if got := f.Accept(s.counter, limit); got != s.want {
			t.Fatalf("step %d: Accept(%d) = %v, want %v", i, s.counter, got, s.want)
		}
	}
}

func TestAccept(t *testing.T) {
	tests := []struct {
		name  string
		limit uint64
		steps []step
	}{
		{"first counter zero", noLimit, []step{{0, true}, {0, false}}},
		{"in order", noLimit, []step{{0, true}, {1, true}, {2, true}, {3, true}}},
		{"start above zero then zero", noLimit, []step{{5, true}, {0, true}, {0, false}, {5, false}}},
		{"reorder within window", noLimit, []step{
			{10, true}, {7, true}, {9, true}, {8, true}, {11, true}, {7, false}, {10, false},
		}},
		{"duplicates", noLimit, []step{{1, true}, {1, false}, {2, true}, {1, false}, {2, false}}},
		{"oldest inside window", noLimit, []step{
			{WindowSize + 100, true}, {100, true}, {100, false},
		}},
		{"just too old", noLimit, []step{
			{WindowSize + 100, true}, {99, false}, {0, false},
		}},
		{"oldest in every block offset", noLimit, []step{
			{ringBits + 0, true}, {ringBits - WindowSize, true},
			{ringBits + 63, true}, {ringBits + 63 - WindowSize, true},
			{ringBits + 64, true}, {ringBits + 64 - WindowSize, true}, {ringBits + 63 - WindowSize, false},
		}},
		{"window edge with counter zero", noLimit, []step{
			{WindowSize, true}, {0, true}, {WindowSize + 1, true}, {1, true}, {0, false},
		}},
		{"jump exactly one ring ahead clears stale bits", noLimit, []step{
			{3, true}, {3 + ringBits, true}, {3 + ringBits - 1, true}, {3, false},
		}},
		{"jump far ahead", noLimit, []step{
			{0, true}, {1, true}, {1 << 40, true}, {1<<40 - 1, true}, {1<<40 - WindowSize, true},
			{1<<40 - WindowSize - 1, false}, {1, false}, {1 << 40, false},
		}},
		{"block boundary", noLimit, []step{
			{63, true}, {64, true}, {127, true}, {128, true}, {65, true}, {63, false}, {64, false},
		}},
		{"limit edge", 100, []step{{98, true}, {99, true}, {100, false}, {101, false}, {97, true}}},
		{"limit zero rejects everything", 0, []step{{0, false}, {1, false}}},
		{"max counter", noLimit, []step{
			{math.MaxUint64 - 1, true}, {math.MaxUint64, false}, {math.MaxUint64 - 2, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Filter
			run(t, &f, tt.limit, tt.steps)
		})
	}
}

func TestReset(t *testing.T) {
	var f Filter
	run(t, &f, noLimit, []step{{1 << 20, true}, {1, false}})
	f.Reset()
	if f != (Filter{}) {
		t.Fatal("Reset did not return the filter to its zero value")
	}
	run(t, &f, noLimit, []step{{1, true}, {1 << 20, true}, {1, false}})
}

// TestAgainstModel compares the filter with a map that remembers every
// counter ever accepted and applies the window rule literally.
func TestAgainstModel(t *testing.T) {
	tests := []struct {
		name   string
		spread uint64 // how far counters stray from a moving base
		jump   int    // one step in jump moves the base far ahead
	}{
		{"tight reorder", 64, 0},
		{"window-sized reorder", WindowSize + 200, 0},
		{"wide reorder with jumps", 3 * ringBits, 500},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 7))
			var f Filter
			seen := map[uint64]bool{}
			var highest uint64
			base := uint64(0)
			const limit = 1 << 50
			for n := range 200000 {
				base += uint64(r.IntN(3))
				if tt.jump > 0 && r.IntN(tt.jump) == 0 {
					base += uint64(r.IntN(4 * ringBits))
				}
				c := base + uint64(r.IntN(int(tt.spread)))
				c -= min(c, uint64(r.IntN(int(tt.spread))))
				want := !seen[c] && c < limit && (c > highest || highest-c <= WindowSize)
				if got := f.Accept(c, limit); got != want {
					t.Fatalf("op %d: Accept(%d) = %v, model says %v (highest %d)", n, c, got, want, highest)
				}
				if want {
					seen[c] = true
					highest = max(highest, c)
				}
			}
		})
	}
}

func TestAcceptDoesNotAllocate(t *testing.T) {
	var f Filter
	c := uint64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		f.Accept(c, noLimit)
		c += 3
	})
	if allocs != 0 {
		t.Fatalf("Accept allocates %v times per call", allocs)
	}
}

func BenchmarkAcceptInOrder(b *testing.B) {
	b.ReportAllocs()
	var f Filter
	var c uint64
	for b.Loop() {
		if !f.Accept(c, noLimit) {
			b.Fatal("rejected in-order counter")
		}
		c++
	}
}

func BenchmarkAcceptReordered(b *testing.B) {
	// Counters arrive in blocks of 256, each block shuffled, as after a
	// multi-queue receive path.
	const block = 256
	r := rand.New(rand.NewPCG(1, 2))
	perm := r.Perm(block)
	b.ReportAllocs()
	var f Filter
	var base uint64
	i := 0
	for b.Loop() {
		f.Accept(base+uint64(perm[i]), noLimit)
		if i++; i == block {
			i = 0
			base += block
		}
	}
}

func BenchmarkAcceptDuplicate(b *testing.B) {
	b.ReportAllocs()
	var f Filter
	f.Accept(1000, noLimit)
	for b.Loop() {
		if f.Accept(1000, noLimit) {
			b.Fatal("accepted duplicate")
		}
	}
}

// FuzzAccept decodes data as a sequence of counters (2 bytes each: a signed
// step from the previous counter, scaled so that steps cross the window) and
// checks the filter against the literal window rule.
func FuzzAccept(f *testing.F) {
	f.Add([]byte{0, 1, 0, 1, 0, 1})
	f.Add([]byte{0x7f, 0xff, 0x80, 0x00, 0x00, 0x01, 0x00, 0x01})
	f.Add([]byte{0x10, 0x00, 0xf0, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		var flt Filter
		seen := map[uint64]bool{}
		var highest, c uint64
		const limit = 1 << 40
		for i := 0; i+1 < len(data); i += 2 {
			d := int64(int16(uint16(data[i])<<8 | uint16(data[i+1])))
			if d >= 0 {
				c += uint64(d)
			} else {
				c -= min(c, uint64(-d))
			}
			want := !seen[c] && c < limit && (c > highest || highest-c <= WindowSize)
			if got := flt.Accept(c, limit); got != want {
				t.Fatalf("Accept(%d) = %v, want %v (highest %d)", c, got, want, highest)
			}
			if want {
				seen[c] = true
				highest = max(highest, c)
			}
		}
	})
}

func ExampleFilter() {
	var f Filter
	const limit = 1 << 60 // the engine passes RejectAfterMessages
	for _, c := range []uint64{1, 3, 2, 3, 9000, 2, 8999} {
		fmt.Println(c, f.Accept(c, limit))
	}
	// Output:
	// 1 true
	// 3 true
	// 2 true
	// 3 false
	// 9000 true
	// 2 false
	// 8999 true
}
