// Package refbench compares routing.Table with the reference
// implementation's AllowedIPs on identical data. It is test-only: the
// reference (golang.zx2c4.com/wireguard) is never linked into warren.
package refbench

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/warren-vpn/warren/internal/routing"
	"golang.zx2c4.com/wireguard/device"
)

type entry struct {
	prefix netip.Prefix
	peer   int
}

// data returns n random prefixes (v4: /8../32, v6: /16../128) owned by 1000
// peers, and 1<<16 addresses to look up, half of them inside a prefix.
func data(n int, v6 bool) ([]entry, []netip.Addr) {
	r := rand.New(rand.NewPCG(42, uint64(n)))
	rnd := func() netip.Addr {
		if v6 {
			var b [16]byte
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			return netip.AddrFrom16(b)
		}
		return netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
	}
	es := make([]entry, n)
	addrs := make([]netip.Addr, 0, 1<<16)
	for i := range es {
		a := rnd()
		bits := 8 + r.IntN(25)
		if v6 {
			bits = 16 + r.IntN(113)
		}
		es[i] = entry{netip.PrefixFrom(a, bits), i % 1000}
		if len(addrs) < cap(addrs)/2 {
			addrs = append(addrs, a)
		}
	}
	for len(addrs) < cap(addrs) {
		addrs = append(addrs, rnd())
	}
	r.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	return es, addrs
}

func cases() []struct {
	name string
	n    int
	v6   bool
} {
	return []struct {
		name string
		n    int
		v6   bool
	}{{"v4/1k", 1000, false}, {"v4/1M", 1_000_000, false}, {"v6/1k", 1000, true}, {"v6/1M", 1_000_000, true}}
}

// BenchmarkWarren measures routing.Table behind an RWMutex read lock, as the
// engine uses it, so that it is comparable with the reference, which locks
// inside Lookup.
func BenchmarkWarren(b *testing.B) {
	for _, c := range cases() {
		b.Run(c.name, func(b *testing.B) {
			es, addrs := data(c.n, c.v6)
			var t routing.Table[int]
			for _, e := range es {
				t.Insert(e.prefix, e.peer)
			}
			var mu sync.RWMutex
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				mu.RLock()
				t.Lookup(addrs[i&(len(addrs)-1)])
				mu.RUnlock()
				i++
			}
		})
	}
}

func BenchmarkReference(b *testing.B) {
	for _, c := range cases() {
		b.Run(c.name, func(b *testing.B) {
			es, addrs := data(c.n, c.v6)
			var t device.AllowedIPs
			peers := make([]*device.Peer, 1000)
			for i := range peers {
				peers[i] = &device.Peer{}
			}
			for _, e := range es {
				t.Insert(e.prefix, peers[e.peer])
			}
			raw := make([][]byte, len(addrs))
			for i, a := range addrs {
				raw[i] = a.AsSlice()
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				t.Lookup(raw[i&(len(raw)-1)])
				i++
			}
		})
	}
}

// TestSameAnswers checks the comparison is fair: both tables agree.
func TestSameAnswers(t *testing.T) {
	es, addrs := data(20000, false)
	es6, addrs6 := data(20000, true)
	es, addrs = append(es, es6...), append(addrs, addrs6...)
	var w routing.Table[int]
	var ref device.AllowedIPs
	peers := make([]*device.Peer, 1000)
	index := map[*device.Peer]int{}
	for i := range peers {
		peers[i] = &device.Peer{}
		index[peers[i]] = i
	}
	for _, e := range es {
		w.Insert(e.prefix, e.peer)
		ref.Insert(e.prefix, peers[e.peer])
	}
	for _, a := range addrs {
		got, ok := w.Lookup(a)
		rp := ref.Lookup(a.AsSlice())
		if ok != (rp != nil) || (ok && index[rp] != got) {
			t.Fatalf("Lookup(%v): warren %d,%v; reference %v", a, got, ok, rp)
		}
	}
}
