package routing

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"unsafe"
)

var (
	mp = netip.MustParsePrefix
	ma = netip.MustParseAddr
)

type insert struct {
	prefix string
	peer   string
}

type want struct {
	addr string
	peer string // "" means no match
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name    string
		inserts []insert
		lookups []want
	}{
		{"empty table", nil, []want{{"10.0.0.1", ""}, {"::1", ""}}},
		{"default routes", []insert{{"0.0.0.0/0", "a"}, {"::/0", "b"}}, []want{
			{"0.0.0.0", "a"}, {"255.255.255.255", "a"}, {"::", "b"}, {"ffff::1", "b"},
		}},
		{"host routes", []insert{{"10.0.0.1/32", "a"}, {"fd00::1/128", "b"}}, []want{
			{"10.0.0.1", "a"}, {"10.0.0.0", ""}, {"10.0.0.2", ""},
			{"fd00::1", "b"}, {"fd00::", ""}, {"fd00::2", ""},
		}},
		{"more specific wins", []insert{
			{"10.0.0.0/8", "a"}, {"10.1.0.0/16", "b"}, {"10.1.2.0/24", "c"}, {"10.1.2.3/32", "d"},
		}, []want{
			{"10.9.9.9", "a"}, {"10.1.9.9", "b"}, {"10.1.2.9", "c"}, {"10.1.2.3", "d"}, {"11.0.0.0", ""},
		}},
		{"more specific wins regardless of insertion order", []insert{
			{"10.1.2.3/32", "d"}, {"10.1.2.0/24", "c"}, {"10.0.0.0/8", "a"}, {"10.1.0.0/16", "b"},
		}, []want{
			{"10.9.9.9", "a"}, {"10.1.9.9", "b"}, {"10.1.2.9", "c"}, {"10.1.2.3", "d"},
		}},
		{"siblings", []insert{{"192.168.0.0/25", "lo"}, {"192.168.0.128/25", "hi"}}, []want{
			{"192.168.0.127", "lo"}, {"192.168.0.128", "hi"}, {"192.168.1.0", ""},
		}},
		{"prefix is masked", []insert{{"10.1.2.3/8", "a"}, {"fd00::1:2:3/16", "b"}}, []want{
			{"10.200.0.1", "a"}, {"fd00:ffff::", "b"},
		}},
		{"v6 overlapping", []insert{
			{"2001:db8::/32", "a"}, {"2001:db8:1::/48", "b"}, {"2001:db8:1:2::/64", "c"},
			{"2001:db8:1:2:0:0:0:80/121", "d"},
		}, []want{
			{"2001:db8:ffff::1", "a"}, {"2001:db8:1:ffff::1", "b"}, {"2001:db8:1:2::1", "c"},
			{"2001:db8:1:2::ff", "d"}, {"2001:db9::", ""},
		}},
		{"v6 bit 64 boundary", []insert{{"fd00:0:0:1::/64", "a"}, {"fd00:0:0:1:8000::/65", "b"}}, []want{
			{"fd00:0:0:1:7fff::", "a"}, {"fd00:0:0:1:8000::", "b"}, {"fd00:0:0:0:ffff::", ""},
		}},
		{"families are separate", []insert{{"10.0.0.0/8", "v4"}, {"::/0", "v6"}}, []want{
			{"10.0.0.1", "v4"}, {"::ffff:10.0.0.1", "v6"}, {"::a00:1", "v6"},
		}},
		{"v4-mapped v6 does not match v4", []insert{{"0.0.0.0/0", "v4"}}, []want{
			{"::ffff:10.0.0.1", ""}, {"10.0.0.1", "v4"},
		}},
		{"v4-mapped prefix matches only v6 lookups", []insert{{"::ffff:0:0/96", "mapped"}}, []want{
			{"::ffff:10.0.0.1", "mapped"}, {"10.0.0.1", ""},
		}},
		{"zone is ignored", []insert{{"fe80::/10", "ll"}}, []want{{"fe80::1%eth0", "ll"}}},
		{"invalid address", []insert{{"0.0.0.0/0", "a"}, {"::/0", "b"}}, []want{{"", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tb Table[string]
			for _, in := range tt.inserts {
				tb.Insert(mp(in.prefix), in.peer)
			}
			checkInvariants(t, &tb)
			for _, w := range tt.lookups {
				var a netip.Addr
				if w.addr != "" {
					a = ma(w.addr)
				}
				got, ok := tb.Lookup(a)
				if ok != (w.peer != "") || got != w.peer {
					t.Errorf("Lookup(%s) = %q, %v; want %q", w.addr, got, ok, w.peer)
				}
			}
		})
	}
}

func TestInsertMovesPrefix(t *testing.T) {
	var tb Table[string]
	tb.Insert(mp("10.0.0.0/24"), "a")
	tb.Insert(mp("10.0.1.0/24"), "a")
	tb.Insert(mp("10.0.0.0/24"), "b") // taken from a
	if p, _ := tb.Lookup(ma("10.0.0.1")); p != "b" {
		t.Fatalf("Lookup after move = %q, want b", p)
	}
	if got := tb.Prefixes("a"); !slices.Equal(got, []netip.Prefix{mp("10.0.1.0/24")}) {
		t.Fatalf("Prefixes(a) = %v", got)
	}
	if got := tb.Prefixes("b"); !slices.Equal(got, []netip.Prefix{mp("10.0.0.0/24")}) {
		t.Fatalf("Prefixes(b) = %v", got)
	}
	if tb.Len() != 2 {
		t.Fatalf("Len = %d, want 2", tb.Len())
	}
	// Removing with the old owner does nothing.
	tb.Remove(mp("10.0.0.0/24"), "a")
	if p, _ := tb.Lookup(ma("10.0.0.1")); p != "b" {
		t.Fatalf("Remove by a non-owner removed the prefix")
	}
	// The move also works unmasked.
	tb.Insert(mp("10.0.0.77/24"), "a")
	if p, _ := tb.Lookup(ma("10.0.0.1")); p != "a" || tb.Len() != 2 {
		t.Fatalf("unmasked move: Lookup = %q, Len = %d", p, tb.Len())
	}
	checkInvariants(t, &tb)
}

func TestPrefixesOrder(t *testing.T) {
	var tb Table[int]
	in := []netip.Prefix{mp("10.0.0.0/8"), mp("fd00::/8"), mp("0.0.0.0/0"), mp("10.0.0.1/32"), mp("::/0")}
	for _, p := range in {
		tb.Insert(p, 1)
	}
	tb.Insert(mp("0.0.0.0/0"), 1) // re-insert by the same peer keeps its place
	tb.Insert(mp("10.1.2.3/8"), 1)
	if got := tb.Prefixes(1); !slices.Equal(got, in) {
		t.Fatalf("Prefixes = %v, want %v", got, in)
	}
	tb.Remove(mp("0.0.0.0/0"), 1)
	tb.Insert(mp("0.0.0.0/0"), 1) // removed then inserted: goes last
	want := []netip.Prefix{in[0], in[1], in[3], in[4], in[2]}
	if got := tb.Prefixes(1); !slices.Equal(got, want) {
		t.Fatalf("Prefixes = %v, want %v", got, want)
	}
	if got := tb.Prefixes(2); got != nil {
		t.Fatalf("Prefixes of unknown peer = %v", got)
	}
	// AppendPrefixes extends what it is given, in the same order.
	buf := []netip.Prefix{mp("192.0.2.0/24")}
	if got := tb.AppendPrefixes(buf, 1); !slices.Equal(got, append(buf[:1:1], want...)) {
		t.Fatalf("AppendPrefixes = %v, want %v after %v", got, want, buf[:1])
	}
	if got := tb.AppendPrefixes(buf[:0], 2); len(got) != 0 {
		t.Fatalf("AppendPrefixes of unknown peer = %v", got)
	}
}

func TestRemove(t *testing.T) {
	var tb Table[string]
	for _, p := range []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.2.0.0/16"} {
		tb.Insert(mp(p), p)
	}
	tb.Remove(mp("10.1.0.0/16"), "10.1.0.0/16")
	checkInvariants(t, &tb)
	if p, _ := tb.Lookup(ma("10.1.9.9")); p != "10.0.0.0/8" {
		t.Fatalf("after removing /16, Lookup = %q", p)
	}
	if p, _ := tb.Lookup(ma("10.1.2.9")); p != "10.1.2.0/24" {
		t.Fatalf("removing the /16 lost the /24 below it: %q", p)
	}
	tb.Remove(mp("10.1.2.5/24"), "10.1.2.0/24") // unmasked prefix names the same entry
	tb.Remove(mp("10.3.0.0/16"), "10.3.0.0/16") // absent: no-op
	tb.Remove(netip.Prefix{}, "")               // invalid: no-op
	checkInvariants(t, &tb)
	if tb.Len() != 2 {
		t.Fatalf("Len = %d, want 2", tb.Len())
	}
	if p, _ := tb.Lookup(ma("10.1.2.9")); p != "10.0.0.0/8" {
		t.Fatalf("after removing /24, Lookup = %q", p)
	}
}

func TestRemovePeer(t *testing.T) {
	var tb Table[string]
	tb.Insert(mp("0.0.0.0/0"), "gw")
	tb.Insert(mp("10.0.0.0/8"), "a")
	tb.Insert(mp("10.1.0.0/16"), "b")
	tb.Insert(mp("10.1.1.0/24"), "a")
	tb.Insert(mp("fd00::/64"), "a")
	tb.RemovePeer("a")
	checkInvariants(t, &tb)
	for _, w := range []want{{"10.1.1.1", "b"}, {"10.2.0.0", "gw"}, {"fd00::1", ""}} {
		if got, _ := tb.Lookup(ma(w.addr)); got != w.peer {
			t.Errorf("Lookup(%s) = %q, want %q", w.addr, got, w.peer)
		}
	}
	if tb.Prefixes("a") != nil || tb.Len() != 2 {
		t.Fatalf("peer a left behind: %v, Len %d", tb.Prefixes("a"), tb.Len())
	}
	tb.RemovePeer("nobody")
	tb.RemovePeer("gw")
	tb.RemovePeer("b")
	if tb.Len() != 0 || tb.v4.root != nil || tb.v6.root != nil {
		t.Fatalf("table not empty: Len %d", tb.Len())
	}
}

func TestInvalidPrefixIgnored(t *testing.T) {
	var tb Table[int]
	tb.Insert(netip.Prefix{}, 1)
	if tb.Len() != 0 || tb.Prefixes(1) != nil {
		t.Fatal("invalid prefix was inserted")
	}
}

func TestClone(t *testing.T) {
	var tb Table[string]
	tb.Insert(mp("10.0.0.0/8"), "a")
	tb.Insert(mp("fd00::/8"), "a")
	tb.Insert(mp("10.1.0.0/16"), "b")
	c := tb.Clone()
	tb.RemovePeer("a")
	tb.Insert(mp("10.1.0.0/16"), "z")
	checkInvariants(t, c)
	if p, _ := c.Lookup(ma("10.2.0.0")); p != "a" {
		t.Fatalf("clone changed with the original: %q", p)
	}
	if p, _ := c.Lookup(ma("10.1.0.0")); p != "b" {
		t.Fatalf("clone changed with the original: %q", p)
	}
	if got := c.Prefixes("a"); !slices.Equal(got, []netip.Prefix{mp("10.0.0.0/8"), mp("fd00::/8")}) {
		t.Fatalf("clone Prefixes(a) = %v", got)
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	tb, addrs := randomTable(1000, true)
	tb4, addrs4 := randomTable(1000, false)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		tb.Lookup(addrs[i%len(addrs)])
		tb4.Lookup(addrs4[i%len(addrs4)])
		i++
	})
	if allocs != 0 {
		t.Fatalf("Lookup allocates %v times", allocs)
	}
}

func TestRemovePeerInLargeTable(t *testing.T) {
	// The peer index holds exactly the peer's prefixes, so RemovePeer
	// visits those alone (BenchmarkRemovePeer shows the cost), and removing
	// them leaves the other 50,000 prefixes intact.
	tb, _ := randomTable(50_000, false)
	before := tb.Len()
	tb.Insert(mp("172.16.0.0/12"), -1)
	tb.Insert(mp("172.16.5.0/24"), -1)
	if got := len(tb.Prefixes(-1)); got != 2 {
		t.Fatalf("peer index holds %d entries, want 2", got)
	}
	tb.RemovePeer(-1)
	if tb.Len() != before {
		t.Fatalf("Len = %d, want %d", tb.Len(), before)
	}
	checkInvariants(t, tb)
}

func TestJumpTableResizes(t *testing.T) {
	// Grow a family through every stride and shrink it back, checking the
	// jump table against a fresh build whenever the stride changes. On the
	// way down a stride is kept until the family is a quarter of its
	// threshold.
	// (Stride 20 needs 2^18 prefixes, too slow here; the randomized model
	// test covers a fixed stride of 20.)
	n, want := 80_000, []uint8{16, 12, 8, 0}
	var tb Table[int]
	var pfx []netip.Prefix
	for i := range n {
		// Spread over the whole space, with some short prefixes.
		a := netip.AddrFrom4([4]byte{byte(i>>16) ^ byte(i*7), byte(i >> 8), byte(i), byte(i * 13)})
		bits := 32
		if i%100 == 0 {
			bits = 4 + i%20
		}
		p := netip.PrefixFrom(a, bits).Masked()
		if tb.v4.find(addrKey(p.Addr()), uint8(bits)) != nil {
			continue
		}
		tb.Insert(p, len(pfx)%50)
		pfx = append(pfx, p)
	}
	strides := []uint8{}
	check := func() {
		t.Helper()
		if s := tb.v4.jump.stride; len(strides) == 0 || strides[len(strides)-1] != s {
			strides = append(strides, s)
			checkInvariants(t, &tb)
		}
	}
	check()
	for i, p := range pfx {
		tb.Remove(p, i%50)
		check()
	}
	checkInvariants(t, &tb)
	if !slices.Equal(strides, want) {
		t.Fatalf("strides while shrinking: %v, want %v", strides, want)
	}
	if tb.Len() != 0 || tb.v4.jump.entries != nil {
		t.Fatalf("Len %d, jump entries %d after removing everything", tb.Len(), len(tb.v4.jump.entries))
	}
}

// FuzzTable decodes data as operations and checks the table against the
// brute-force model after each one. Each operation is 6 bytes: op, peer,
// and 4 bytes that pick a prefix from a small overlapping space in either
// family (so prefixes collide and nest often).
func FuzzTable(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0x0a, 0, 0, 8, 2, 0, 0x0a, 1, 2, 3})
	f.Add([]byte{1, 0, 1, 0x80, 0, 0, 0, 0, 2, 0x80, 0, 0, 128, 3, 1, 0, 0, 0, 0})
	f.Add([]byte{2, 0, 1, 0x0a, 0, 0, 8, 0, 2, 0x0a, 0x10, 0, 12, 1, 1, 0x0a, 0, 0, 8, 4, 0, 0x0a, 0x10, 1, 1})
	f.Add([]byte{3, 0, 1, 0x0a, 0, 0, 2, 0, 2, 0x0a, 0x10, 0, 12, 2, 1, 0x0a, 0, 0, 2, 4, 0, 0x0a, 0x10, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		// The first byte picks a jump table stride, so that small tables
		// exercise it too.
		tb := Table[int]{fixedStride: [4]uint8{0, 1, 3, 8}[data[0]%4]}
		data = data[1:]
		m := newModel()
		var addrs []netip.Addr
		for len(data) >= 6 {
			op, peer := data[0]%5, int(data[1]%4)
			p := fuzzPrefix(data[2:6])
			data = data[6:]
			switch op {
			case 0, 1:
				tb.Insert(p, peer)
				m.insert(p, peer)
			case 2:
				tb.Remove(p, peer)
				m.remove(p, peer)
			case 3:
				tb.RemovePeer(peer)
				m.removePeer(peer)
			case 4:
				addrs = append(addrs, p.Addr())
			}
			checkInvariants(t, &tb)
			compare(t, &tb, m, addrs, 4)
		}
	})
}

// fuzzPrefix maps 4 bytes to a prefix: the top bit of b[0] picks the family,
// the rest of b[0..2] become the leading bits of the address (IPv6 spreads
// them over both halves so bit 64 is exercised), b[3] is the length.
func fuzzPrefix(b []byte) netip.Prefix {
	v := binary.BigEndian.Uint32(b)
	if b[0]&0x80 == 0 {
		a := netip.AddrFrom4([4]byte{b[0] << 1, b[1], b[2], b[1] ^ b[2]})
		return netip.PrefixFrom(a, int(b[3])%33)
	}
	var a [16]byte
	a[0], a[1] = b[0]<<1, b[1]
	a[7], a[8], a[15] = b[2], b[1], byte(v)
	return netip.PrefixFrom(netip.AddrFrom16(a), int(b[3])%129)
}

func ExampleTable() {
	var t Table[string]
	t.Insert(netip.MustParsePrefix("0.0.0.0/0"), "gateway")
	t.Insert(netip.MustParsePrefix("10.8.0.0/16"), "office")
	t.Insert(netip.MustParsePrefix("10.8.4.2/32"), "printer")
	for _, a := range []string{"1.1.1.1", "10.8.9.9", "10.8.4.2"} {
		peer, _ := t.Lookup(netip.MustParseAddr(a))
		fmt.Println(a, "->", peer)
	}
	// Output:
	// 1.1.1.1 -> gateway
	// 10.8.9.9 -> office
	// 10.8.4.2 -> printer
}

func TestConcurrentLookups(t *testing.T) {
	// Readers share the table without locks while no writer runs (run
	// with -race to check that Lookup only reads).
	tb, addrs := randomTable(5000, false)
	want := make([]int, len(addrs))
	for i, a := range addrs {
		want[i], _ = tb.Lookup(a)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < len(addrs); i += 4 {
				if got, _ := tb.Lookup(addrs[i]); got != want[i] {
					t.Errorf("concurrent Lookup(%v) = %d, want %d", addrs[i], got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNodeSize(t *testing.T) {
	// A large table's lookup costs a cache miss per node, and a table of a
	// million /32s holds two million nodes: keep a node with a pointer peer
	// (as the engine uses) within 48 bytes.
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("layout checked on 64-bit platforms")
	}
	if size := unsafe.Sizeof(node[*int]{}); size > 48 {
		t.Fatalf("node is %d bytes, want at most 48", size)
	}
}

// TestPeerIndexManyPrefixes: a peer's list keeps insertion order while
// prefixes come and go from its middle, its ends and to another peer, and
// shrinks back to a single entry.
func TestPeerIndexManyPrefixes(t *testing.T) {
	var tb Table[int]
	var want []netip.Prefix
	for i := range 1000 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
		tb.Insert(p, 1)
		want = append(want, p)
	}
	// Take out every third, the first and the last; give every fifth of
	// the rest to peer 2.
	var kept []netip.Prefix
	for i, p := range want {
		switch {
		case i%3 == 0 || i == len(want)-1:
			tb.Remove(p, 1)
		case i%5 == 0:
			tb.Insert(p, 2)
		default:
			kept = append(kept, p)
		}
		if i%97 == 0 {
			checkInvariants(t, &tb)
		}
	}
	checkInvariants(t, &tb)
	if got := tb.Prefixes(1); !slices.Equal(got, kept) {
		t.Fatalf("Prefixes(1): %d prefixes, want %d in insertion order", len(got), len(kept))
	}
	for _, p := range kept[1:] {
		tb.Remove(p, 1)
	}
	checkInvariants(t, &tb)
	if got := tb.Prefixes(1); !slices.Equal(got, kept[:1]) {
		t.Fatalf("Prefixes(1) = %v, want %v", got, kept[:1])
	}
	if _, many := tb.peers.many[1]; many {
		t.Fatal("a peer down to one prefix still has a list")
	}
	tb.RemovePeer(2)
	tb.RemovePeer(1)
	if tb.Len() != 0 || tb.peers.peers() != 0 {
		t.Fatalf("Len %d, %d peers after removing both", tb.Len(), tb.peers.peers())
	}
}

func TestCloneLarge(t *testing.T) {
	tb, addrs := randomTable(20_000, false)
	tb6, addrs6 := randomTable(5_000, true)
	for peer := range 1000 {
		for _, p := range tb6.Prefixes(peer) {
			tb.Insert(p, peer)
		}
	}
	addrs = append(addrs, addrs6...)
	c := tb.Clone()
	checkInvariants(t, c)
	for _, a := range addrs {
		g, gok := c.Lookup(a)
		w, wok := tb.Lookup(a)
		if g != w || gok != wok {
			t.Fatalf("clone Lookup(%v) = %d, %v; original %d, %v", a, g, gok, w, wok)
		}
	}
	for peer := range 1000 {
		if g, w := c.Prefixes(peer), tb.Prefixes(peer); !slices.Equal(g, w) {
			t.Fatalf("clone Prefixes(%d) = %v, original %v", peer, g, w)
		}
	}
	// Changing the clone leaves the original alone.
	before := tb.Prefixes(7)
	c.RemovePeer(7)
	c.Insert(mp("0.0.0.0/0"), 7)
	checkInvariants(t, tb)
	checkInvariants(t, c)
	if g := tb.Prefixes(7); !slices.Equal(g, before) {
		t.Fatalf("original changed with its clone: %v", g)
	}
}
