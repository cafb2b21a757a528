package routing

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// model is a brute-force AllowedIPs table: obviously right, and slow.
type model struct {
	owner map[netip.Prefix]int
	order map[int][]netip.Prefix
}

func newModel() *model {
	return &model{owner: map[netip.Prefix]int{}, order: map[int][]netip.Prefix{}}
}

func (m *model) insert(p netip.Prefix, peer int) {
	p = p.Masked()
	if old, ok := m.owner[p]; ok {
		if old == peer {
			return
		}
		m.drop(p, old)
	}
	m.owner[p] = peer
	m.order[peer] = append(m.order[peer], p)
}

func (m *model) drop(p netip.Prefix, peer int) {
	delete(m.owner, p)
	i := slices.Index(m.order[peer], p)
	m.order[peer] = slices.Delete(m.order[peer], i, i+1)
	if len(m.order[peer]) == 0 {
		delete(m.order, peer)
	}
}

func (m *model) remove(p netip.Prefix, peer int) {
	p = p.Masked()
	if old, ok := m.owner[p]; ok && old == peer {
		m.drop(p, peer)
	}
}

func (m *model) removePeer(peer int) {
	for _, p := range m.order[peer] {
		delete(m.owner, p)
	}
	delete(m.order, peer)
}

func (m *model) lookup(a netip.Addr) (int, bool) {
	best, bestBits, found := 0, -1, false
	for p, peer := range m.owner {
		if p.Contains(a) && p.Bits() > bestBits {
			best, bestBits, found = peer, p.Bits(), true
		}
	}
	return best, found
}

// checkInvariants verifies the trie's shape: keys masked, children strictly
// longer and contained in their parent under the right bit, branch nodes
// with two children, the count, and the jump tables.
func checkInvariants[P comparable](t testing.TB, tb *Table[P]) {
	t.Helper()
	count := 0
	var walk func(n, parent *node[P], v6 bool)
	walk = func(n, parent *node[P], v6 bool) {
		if n == nil {
			return
		}
		if n.isV6 != v6 {
			t.Fatalf("node %v: wrong family", n.prefix())
		}
		if n.key.mask(n.bits) != n.key {
			t.Fatalf("node %v: key not masked", n.prefix())
		}
		if n.hasPeer {
			count++
		} else if n.child[0] == nil || n.child[1] == nil {
			t.Fatalf("branch node %v has fewer than two children", n.prefix())
		}
		for i, c := range n.child {
			if c == nil {
				continue
			}
			if c.bits <= n.bits || !n.contains(c.key) || c.key.bit(n.bits) != uint8(i) {
				t.Fatalf("child %v misplaced under %v", c.prefix(), n.prefix())
			}
			walk(c, n, v6)
		}
	}
	walk(tb.v4.root, nil, false)
	walk(tb.v6.root, nil, true)
	if count != tb.Len() {
		t.Fatalf("trie holds %d prefixes, Len says %d", count, tb.Len())
	}
	checkJump(t, &tb.v4, "v4")
	checkJump(t, &tb.v6, "v6")
	listed := 0
	for peer, n := range tb.peers.one {
		if n.peer != peer || !n.hasPeer || tb.peers.many[peer] != nil {
			t.Fatalf("peer index of %v is broken at %v", peer, n.prefix())
		}
		listed++
	}
	for peer, l := range tb.peers.many {
		live := 0
		for i, n := range l.nodes {
			if n == nil {
				continue
			}
			if n.peer != peer || !n.hasPeer || int(n.slot) != i {
				t.Fatalf("peer list of %v is broken at %v (slot %d of %d)", peer, n.prefix(), n.slot, i)
			}
			live++
		}
		if live != l.live || live < 2 || len(l.nodes) > 2*live+1 {
			t.Fatalf("peer list of %v: %d live of %d slots, says %d", peer, live, len(l.nodes), l.live)
		}
		listed += live
	}
	if listed != tb.Len() {
		t.Fatalf("peer lists hold %d prefixes, Len says %d", listed, tb.Len())
	}
}

// checkJump verifies that the incrementally maintained jump table equals
// one built from scratch.
func checkJump[P comparable](t testing.TB, f *family[P], name string) {
	t.Helper()
	s := f.jump.stride
	if s == 0 {
		if f.jump.entries != nil {
			t.Fatalf("%s: entries without a stride", name)
		}
		return
	}
	if len(f.jump.entries) != 1<<s {
		t.Fatalf("%s: %d entries for stride %d", name, len(f.jump.entries), s)
	}
	fresh := jumpTable[P]{stride: s, entries: make([]jumpEntry[P], 1<<s)}
	var zero P
	fresh.fill(f.root, zero, false, 0, 0)
	for i, e := range fresh.entries {
		if f.jump.entries[i] != e {
			t.Fatalf("%s: jump entry %#x is %+v, want %+v", name, i, f.jump.entries[i], e)
		}
	}
}

// compare checks tb against m on the given addresses and on every peer's
// prefix list.
func compare(t testing.TB, tb *Table[int], m *model, addrs []netip.Addr, peers int) {
	t.Helper()
	if tb.Len() != len(m.owner) {
		t.Fatalf("Len = %d, model has %d", tb.Len(), len(m.owner))
	}
	for _, a := range addrs {
		gp, gok := tb.Lookup(a)
		wp, wok := m.lookup(a)
		if gp != wp || gok != wok {
			t.Fatalf("Lookup(%v) = %d, %v; model says %d, %v", a, gp, gok, wp, wok)
		}
	}
	for peer := range peers {
		got, want := tb.Prefixes(peer), m.order[peer]
		if !slices.Equal(got, want) {
			t.Fatalf("Prefixes(%d) = %v; model says %v", peer, got, want)
		}
	}
}

// randPrefix draws prefixes from a few bases so that they overlap often.
func randPrefix(r *rand.Rand, bases []netip.Addr) netip.Prefix {
	a := bases[r.IntN(len(bases))]
	b := a.As16()
	// AND of two random bytes: flip few bits, so prefixes stay close.
	flip := byte(r.Uint32()) & byte(r.Uint32()>>8)
	if a.Is4() {
		b4 := a.As4()
		b4[r.IntN(4)] ^= flip
		return netip.PrefixFrom(netip.AddrFrom4(b4), r.IntN(33))
	}
	b[r.IntN(16)] ^= flip
	return netip.PrefixFrom(netip.AddrFrom16(b), r.IntN(129))
}

func randAddr(r *rand.Rand, bases []netip.Addr) netip.Addr {
	p := randPrefix(r, bases)
	a := p.Addr()
	if r.IntN(4) == 0 {
		b := a.As16()
		b[15] ^= byte(r.IntN(256))
		if a.Is4() {
			return netip.AddrFrom4([4]byte(b[12:]))
		}
		return netip.AddrFrom16(b)
	}
	return a
}

var testBases = []netip.Addr{
	netip.MustParseAddr("10.0.0.1"),
	netip.MustParseAddr("192.168.77.200"),
	netip.MustParseAddr("0.0.0.0"),
	netip.MustParseAddr("255.255.255.255"),
	netip.MustParseAddr("fd00::1"),
	netip.MustParseAddr("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"),
	netip.MustParseAddr("::ffff:10.0.0.1"),
	netip.MustParseAddr("::"),
	netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
}

func TestRandomizedAgainstModel(t *testing.T) {
	tests := []struct {
		name   string
		stride uint8
	}{
		{"adaptive", 0}, {"stride 1", 1}, {"stride 4", 4}, {"stride 8", 8}, {"stride 16", 16}, {"stride 20", 20},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 99))
			const peers = 16
			tb := Table[int]{fixedStride: tt.stride}
			steps, every := 6000, 50
			if tt.stride > 8 {
				every = 500 // a full jump table check costs 1<<stride
			}
			if tt.stride > 16 {
				steps = 1500 // a short prefix refreshes up to 1<<stride entries
			}
			m := newModel()
			addrs := make([]netip.Addr, 300)
			for i := range addrs {
				addrs[i] = randAddr(r, testBases)
			}
			for step := range steps {
				switch op := r.IntN(100); {
				case op < 65:
					p := randPrefix(r, testBases)
					peer := r.IntN(peers)
					tb.Insert(p, peer)
					m.insert(p, peer)
				case op < 90:
					// Remove something likely present, sometimes with the
					// wrong peer.
					var p netip.Prefix
					peer := r.IntN(peers)
					for q, o := range m.owner {
						p = q
						if r.IntN(2) == 0 {
							peer = o
						}
						break
					}
					if !p.IsValid() {
						p = randPrefix(r, testBases)
					}
					tb.Remove(p, peer)
					m.remove(p, peer)
				case op < 93:
					peer := r.IntN(peers)
					tb.RemovePeer(peer)
					m.removePeer(peer)
				case tt.stride <= 8 || r.IntN(8) == 0 && tt.stride <= 16: // big strides make clones slow
					c := tb.Clone()
					checkInvariants(t, c)
					compare(t, c, m, addrs[:50], peers)
				}
				if step%every == 0 {
					checkInvariants(t, &tb)
					compare(t, &tb, m, addrs, peers)
				}
			}
			checkInvariants(t, &tb)
			compare(t, &tb, m, addrs, peers)
			for peer := range peers {
				tb.RemovePeer(peer)
			}
			if tb.Len() != 0 || tb.v4.root != nil || tb.v6.root != nil || tb.peers.peers() != 0 {
				t.Fatalf("table not empty after removing every peer: len %d", tb.Len())
			}
		})
	}
}
