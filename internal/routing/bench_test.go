package routing

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// randomTable builds a table of n random prefixes of the family of v6, with
// lengths spread like real routing tables (mostly long, some short), owned by
// 1000 peers, and returns addresses to look up: half inside a stored prefix,
// half uniformly random.
func randomTable(n int, v6 bool) (*Table[int], []netip.Addr) {
	r := rand.New(rand.NewPCG(42, uint64(n)))
	var t Table[int]
	addrs := make([]netip.Addr, 0, 1<<16)
	for i := range n {
		var a netip.Addr
		var bits int
		if v6 {
			var b [16]byte
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			a = netip.AddrFrom16(b)
			bits = 16 + r.IntN(113)
		} else {
			var b [4]byte
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			a = netip.AddrFrom4(b)
			bits = 8 + r.IntN(25)
		}
		t.Insert(netip.PrefixFrom(a, bits), i%1000)
		if len(addrs) < cap(addrs)/2 {
			addrs = append(addrs, a)
		}
	}
	for len(addrs) < cap(addrs) {
		if v6 {
			var b [16]byte
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			addrs = append(addrs, netip.AddrFrom16(b))
		} else {
			addrs = append(addrs, netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}))
		}
	}
	r.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	return &t, addrs
}

func benchLookup(b *testing.B, n int, v6 bool) {
	t, addrs := randomTable(n, v6)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		t.Lookup(addrs[i&(len(addrs)-1)])
		i++
	}
}

func BenchmarkLookup(b *testing.B) {
	b.Run("v4/1k", func(b *testing.B) { benchLookup(b, 1000, false) })
	b.Run("v4/1M", func(b *testing.B) { benchLookup(b, 1_000_000, false) })
	b.Run("v6/1k", func(b *testing.B) { benchLookup(b, 1000, true) })
	b.Run("v6/1M", func(b *testing.B) { benchLookup(b, 1_000_000, true) })
}

// BenchmarkLookupParallel shows that concurrent readers scale.
func BenchmarkLookupParallel(b *testing.B) {
	t, addrs := randomTable(1_000_000, false)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			t.Lookup(addrs[i&(len(addrs)-1)])
			i++
		}
	})
}

func BenchmarkInsert(b *testing.B) {
	for _, v6 := range []bool{false, true} {
		name := "v4"
		if v6 {
			name = "v6"
		}
		b.Run(name, func(b *testing.B) {
			// Prefixes are drawn fresh each round; the table is rebuilt
			// every 1<<16 inserts so its size stays realistic.
			r := rand.New(rand.NewPCG(1, 2))
			pfx := make([]netip.Prefix, 1<<16)
			for i := range pfx {
				if v6 {
					var a [16]byte
					for j := range a {
						a[j] = byte(r.Uint32())
					}
					pfx[i] = netip.PrefixFrom(netip.AddrFrom16(a), 16+r.IntN(113))
				} else {
					pfx[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}), 8+r.IntN(25))
				}
			}
			b.ReportAllocs()
			t := &Table[int]{}
			i := 0
			for b.Loop() {
				t.Insert(pfx[i], i)
				if i++; i == len(pfx) {
					i = 0
					t = &Table[int]{}
				}
			}
		})
	}
}

func BenchmarkRemovePeer(b *testing.B) {
	// One peer with 16 prefixes in a table of 100k: removing it must not
	// cost a walk of the table.
	t, _ := randomTable(100_000, false)
	pfx := make([]netip.Prefix, 16)
	for i := range pfx {
		pfx[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range pfx {
			t.Insert(p, -1)
		}
		t.RemovePeer(-1)
	}
}

func BenchmarkClone(b *testing.B) {
	t, _ := randomTable(100_000, false)
	b.ReportAllocs()
	for b.Loop() {
		t.Clone()
	}
}
