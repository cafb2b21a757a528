package routing

import (
	"math/bits"
	"net/netip"
)

// key is an address or prefix as 128 bits, most significant first. IPv4
// uses the top 32 bits of hi.
type key struct{ hi, lo uint64 }

// node is a trie node. A node with hasPeer set is a prefix of the table;
// otherwise it is a branch node with exactly two children.
//
// The fields a lookup reads come first, and with a pointer-sized P a node
// is 48 bytes (TestNodeSize): less than a cache line, which is what a lookup
// in a large table pays per node, and a table of a million /32s holds two
// million nodes. There is no parent pointer for the same reason; removal
// walks down from the root instead.
type node[P comparable] struct {
	key     key // masked to bits
	child   [2]*node[P]
	peer    P
	bits    uint8 // prefix length within the family (0..32 or 0..128)
	hasPeer bool
	isV6    bool
	slot    int32 // in the owning peer's list, if it has several (peers.go)
}

// family is the trie of one address family and its jump table.
type family[P comparable] struct {
	root *node[P]
	n    int // prefixes held
	jump jumpTable[P]
}

func addrKey(a netip.Addr) key {
	if a.Is4() {
		b := a.As4()
		return key{hi: uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32}
	}
	b := a.As16()
	var k key
	for i := 0; i < 8; i++ {
		k.hi = k.hi<<8 | uint64(b[i])
		k.lo = k.lo<<8 | uint64(b[8+i])
	}
	return k
}

// mask returns k with only its first n bits kept.
func (k key) mask(n uint8) key {
	switch {
	case n == 0:
		return key{}
	case n < 64:
		return key{hi: k.hi &^ (^uint64(0) >> n)}
	case n == 64:
		return key{hi: k.hi}
	case n < 128:
		return key{hi: k.hi, lo: k.lo &^ (^uint64(0) >> (n - 64))}
	}
	return k
}

// bit returns bit i (0 = most significant) of k.
func (k key) bit(i uint8) uint8 {
	if i < 64 {
		return uint8(k.hi >> (63 - i) & 1)
	}
	return uint8(k.lo >> (127 - i) & 1)
}

// common returns how many leading bits a and b share, at most limit.
func common(a, b key, limit uint8) uint8 {
	var c int
	if x := a.hi ^ b.hi; x != 0 {
		c = bits.LeadingZeros64(x)
	} else {
		c = 64 + bits.LeadingZeros64(a.lo^b.lo)
	}
	if c > int(limit) {
		return limit
	}
	return uint8(c)
}

// contains reports whether the first n.bits of k equal n.key. (A shift by
// 64 yields 0 in Go, so bits 0 and 64 need no special case.)
func (n *node[P]) contains(k key) bool {
	b := n.bits
	if b <= 64 {
		return (k.hi^n.key.hi)&^(^uint64(0)>>b) == 0
	}
	return k.hi == n.key.hi && (k.lo^n.key.lo)&^(^uint64(0)>>(b-64)) == 0
}

// prefix converts n back to a netip.Prefix.
func (n *node[P]) prefix() netip.Prefix {
	if !n.isV6 {
		h := n.key.hi
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(h >> 56), byte(h >> 48), byte(h >> 40), byte(h >> 32)}), int(n.bits))
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(n.key.hi >> (56 - 8*i))
		b[8+i] = byte(n.key.lo >> (56 - 8*i))
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), int(n.bits))
}

// find returns the node holding exactly the masked prefix k/b, or nil.
func (f *family[P]) find(k key, b uint8) *node[P] {
	n := f.root
	for n != nil && n.bits <= b {
		if !n.contains(k) {
			return nil
		}
		if n.bits == b {
			if n.hasPeer {
				return n
			}
			return nil
		}
		n = n.child[k.bit(n.bits)]
	}
	return nil
}

// insertNode returns the node for the masked prefix k/b, creating it (and a
// branch node if needed) when absent.
func (f *family[P]) insertNode(k key, b uint8, v6 bool) *node[P] {
	pp := &f.root
	for {
		cur := *pp
		if cur == nil {
			nn := &node[P]{key: k, bits: b, isV6: v6}
			*pp = nn
			return nn
		}
		c := common(cur.key, k, min(cur.bits, b))
		switch {
		case c == cur.bits && c == b:
			return cur
		case c == cur.bits:
			pp = &cur.child[k.bit(cur.bits)]
		case c == b:
			// The new prefix contains cur: it goes above cur.
			nn := &node[P]{key: k, bits: b, isV6: v6}
			nn.child[cur.key.bit(b)] = cur
			*pp = nn
			return nn
		default:
			// They diverge at bit c: join them under a branch node.
			br := &node[P]{key: k.mask(c), bits: c, isV6: v6}
			nn := &node[P]{key: k, bits: b, isV6: v6}
			br.child[k.bit(c)] = nn
			br.child[cur.key.bit(c)] = cur
			*pp = br
			return nn
		}
	}
}

// removeNode drops the prefix held by n and prunes nodes that are no longer
// needed: a prefix-less node with fewer than two children carries no
// information. Removing n can make n itself redundant and, if n goes
// entirely, its parent (a branch node left with one child); nothing above.
// Every node it prunes lies inside n's prefix or is n's parent branch,
// which only n's range of the jump table can point to.
func (f *family[P]) removeNode(n *node[P]) {
	var zero P
	n.hasPeer = false
	n.peer = zero
	// Find the slots holding n and its parent.
	slot, parentSlot := &f.root, (**node[P])(nil)
	for *slot != n {
		parentSlot = slot
		slot = &(*slot).child[n.key.bit((*slot).bits)]
	}
	switch {
	case n.child[0] != nil && n.child[1] != nil:
		return // still a needed branch
	case n.child[0] != nil:
		*slot = n.child[0]
		return
	case n.child[1] != nil:
		*slot = n.child[1]
		return
	}
	*slot = nil
	if parentSlot == nil {
		return
	}
	if p := *parentSlot; !p.hasPeer {
		// A branch node always had two children; one is left.
		if p.child[0] != nil {
			*parentSlot = p.child[0]
		} else {
			*parentSlot = p.child[1]
		}
	}
}

// lookup returns the peer of the longest prefix containing k.
func (f *family[P]) lookup(k key) (peer P, ok bool) {
	n := f.root
	var e *jumpEntry[P]
	if f.jump.stride != 0 {
		e = &f.jump.entries[k.hi>>(64-f.jump.stride)]
		n = e.next
	}
	var best *node[P]
	for n != nil && n.contains(k) {
		if n.hasPeer {
			best = n
		}
		if n.bits == 128 {
			break
		}
		n = n.child[k.bit(n.bits)]
	}
	if best != nil {
		return best.peer, true
	}
	if e != nil {
		return e.peer, e.ok
	}
	return peer, false
}

// clone copies the family, recording in copies the copy of every prefix
// node (for the caller to rebuild the peer lists).
func (f *family[P]) clone(copies map[*node[P]]*node[P]) family[P] {
	c := family[P]{root: copyTrie(f.root, copies), n: f.n}
	if s := f.jump.stride; s != 0 {
		c.jump = jumpTable[P]{stride: s, entries: make([]jumpEntry[P], 1<<s)}
		var zero P
		c.jump.fill(c.root, zero, false, 0, 0)
	}
	return c
}

// copyTrie copies the trie below n; recursion is at most 129 deep.
func copyTrie[P comparable](n *node[P], copies map[*node[P]]*node[P]) *node[P] {
	if n == nil {
		return nil
	}
	c := &node[P]{key: n.key, peer: n.peer, bits: n.bits, hasPeer: n.hasPeer, isV6: n.isV6}
	c.child[0] = copyTrie(n.child[0], copies)
	c.child[1] = copyTrie(n.child[1], copies)
	if n.hasPeer {
		copies[n] = c
	}
	return c
}
