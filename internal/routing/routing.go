// Package routing implements cryptokey routing's AllowedIPs table
// (whitepaper §2): longest-prefix match for IPv4 and IPv6, mapping prefixes
// to peers. It imports nothing of this module.
//
// Each address family has its own path-compressed binary trie (as the Linux
// kernel's allowedips.c does), so a lookup visits at most one node per
// distinct prefix length on the path to the address. Addresses are looked up
// in their own family: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is an
// IPv6 address and matches only IPv6 prefixes such as ::ffff:0:0/96, never
// an IPv4 prefix. Zones are ignored.
//
// Besides the tries, the table keeps for every peer an intrusive list of its
// prefixes in insertion order, so RemovePeer and Prefixes cost time
// proportional to that peer's prefixes, not to the table.
package routing

import (
	"math/bits"
	"net/netip"
)

// Table maps prefixes to peers of type P. The zero value is an empty table.
// It is not safe for concurrent writes; readers may call Lookup concurrently
// with each other (callers guard writes with a lock).
type Table[P comparable] struct {
	v4, v6 *node[P]
	peers  map[P]*peerList[P]
	n      int
}

// key is an address or prefix as 128 bits, most significant first. IPv4
// uses the top 32 bits of hi.
type key struct{ hi, lo uint64 }

// node is a trie node. A node with hasPeer set is a prefix of the table;
// otherwise it is a branch node with exactly two children.
type node[P comparable] struct {
	key     key // masked to bits
	child   [2]*node[P]
	parent  *node[P]
	prev    *node[P] // neighbours in the owning peer's list
	next    *node[P]
	peer    P
	bits    uint8 // prefix length within the family (0..32 or 0..128)
	hasPeer bool
	isV6    bool
}

// peerList is the insertion-ordered list of one peer's prefix nodes.
type peerList[P comparable] struct {
	head, tail *node[P]
	n          int
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

// contains reports whether the first n.bits of k equal n.key.
func (n *node[P]) contains(k key) bool {
	b := n.bits
	if b <= 64 {
		return (k.hi^n.key.hi)&^(^uint64(0)>>b) == 0
	}
	return k.hi == n.key.hi && (k.lo^n.key.lo)&^(^uint64(0)>>(b-64)) == 0
}

func (t *Table[P]) root(v6 bool) **node[P] {
	if v6 {
		return &t.v6
	}
	return &t.v4
}

// find returns the node holding exactly prefix, or nil.
func (t *Table[P]) find(prefix netip.Prefix) *node[P] {
	if !prefix.IsValid() {
		return nil
	}
	b := uint8(prefix.Bits())
	k := addrKey(prefix.Addr()).mask(b)
	n := *t.root(prefix.Addr().Is6())
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

// Insert maps prefix (masked to its bits first) to peer, taking it from any
// peer that had it, as wg's semantics say. Re-inserting a prefix its peer
// already holds keeps its place in Prefixes. Invalid prefixes are ignored.
func (t *Table[P]) Insert(prefix netip.Prefix, peer P) {
	if !prefix.IsValid() {
		return
	}
	v6 := prefix.Addr().Is6()
	b := uint8(prefix.Bits())
	k := addrKey(prefix.Addr()).mask(b)
	n := t.insertNode(t.root(v6), k, b, v6)
	if n.hasPeer {
		if n.peer == peer {
			return
		}
		t.unlink(n)
	} else {
		n.hasPeer = true
		t.n++
	}
	n.peer = peer
	t.link(n)
}

// insertNode returns the node for k/b in the trie at pp, creating it (and
// a branch node if needed) when absent.
func (t *Table[P]) insertNode(pp **node[P], k key, b uint8, v6 bool) *node[P] {
	var parent *node[P]
	for {
		n := *pp
		if n == nil {
			nn := &node[P]{key: k, bits: b, parent: parent, isV6: v6}
			*pp = nn
			return nn
		}
		c := common(n.key, k, min(n.bits, b))
		switch {
		case c == n.bits && c == b:
			return n
		case c == n.bits:
			parent = n
			pp = &n.child[k.bit(n.bits)]
			continue
		case c == b:
			// The new prefix contains n: it goes above n.
			nn := &node[P]{key: k, bits: b, parent: parent, isV6: v6}
			nn.child[n.key.bit(b)] = n
			n.parent = nn
			*pp = nn
			return nn
		default:
			// They diverge at bit c: join them under a branch node.
			br := &node[P]{key: k.mask(c), bits: c, parent: parent, isV6: v6}
			nn := &node[P]{key: k, bits: b, parent: br, isV6: v6}
			br.child[k.bit(c)] = nn
			br.child[n.key.bit(c)] = n
			n.parent = br
			*pp = br
			return nn
		}
	}
}

// link appends n to the list of n.peer.
func (t *Table[P]) link(n *node[P]) {
	if t.peers == nil {
		t.peers = make(map[P]*peerList[P])
	}
	l := t.peers[n.peer]
	if l == nil {
		l = &peerList[P]{}
		t.peers[n.peer] = l
	}
	n.prev, n.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = n
	} else {
		l.head = n
	}
	l.tail = n
	l.n++
}

// unlink takes n out of the list of n.peer.
func (t *Table[P]) unlink(n *node[P]) {
	l := t.peers[n.peer]
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		l.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.prev, n.next = nil, nil
	l.n--
	if l.n == 0 {
		delete(t.peers, n.peer)
	}
}

// Remove deletes prefix if it maps to peer.
func (t *Table[P]) Remove(prefix netip.Prefix, peer P) {
	n := t.find(prefix.Masked())
	if n == nil || n.peer != peer {
		return
	}
	t.unlink(n)
	t.removeNode(n)
}

// removeNode drops the prefix held by n and prunes nodes that are no longer
// needed: a prefix-less node with fewer than two children carries no
// information.
func (t *Table[P]) removeNode(n *node[P]) {
	var zero P
	n.hasPeer = false
	n.peer = zero
	t.n--
	for n != nil && !n.hasPeer {
		var only *node[P]
		switch {
		case n.child[0] != nil && n.child[1] != nil:
			return
		case n.child[0] != nil:
			only = n.child[0]
		case n.child[1] != nil:
			only = n.child[1]
		}
		parent := n.parent
		var pp **node[P]
		switch {
		case parent == nil:
			pp = t.root(n.isV6)
		case parent.child[0] == n:
			pp = &parent.child[0]
		default:
			pp = &parent.child[1]
		}
		*pp = only
		if only != nil {
			only.parent = parent
			return // n had one child: the parent still has as many as before
		}
		n.parent = nil
		n = parent // the parent lost a child; it may now be redundant
	}
}

// RemovePeer deletes every prefix of peer, in time proportional to the
// number of prefixes the peer has.
func (t *Table[P]) RemovePeer(peer P) {
	l := t.peers[peer]
	if l == nil {
		return
	}
	delete(t.peers, peer)
	for n := l.head; n != nil; {
		next := n.next
		n.prev, n.next = nil, nil
		t.removeNode(n)
		n = next
	}
}

// Lookup returns the peer of the longest prefix containing addr. It does not
// allocate and may run concurrently with other Lookups.
func (t *Table[P]) Lookup(addr netip.Addr) (peer P, ok bool) {
	var n *node[P]
	var k key
	if addr.Is4() {
		n = t.v4
		b := addr.As4()
		k.hi = uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32
	} else if addr.Is6() {
		n = t.v6
		k = addrKey(addr)
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
	if best == nil {
		return peer, false
	}
	return best.peer, true
}

// Prefixes returns peer's prefixes in the order they were inserted.
func (t *Table[P]) Prefixes(peer P) []netip.Prefix {
	l := t.peers[peer]
	if l == nil {
		return nil
	}
	out := make([]netip.Prefix, 0, l.n)
	for n := l.head; n != nil; n = n.next {
		out = append(out, n.prefix())
	}
	return out
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

// Len returns how many prefixes the table holds.
func (t *Table[P]) Len() int { return t.n }

// Clone returns an independent copy of t, with every peer's prefixes in the
// same order. It costs time proportional to the table's size.
func (t *Table[P]) Clone() *Table[P] {
	c := &Table[P]{}
	for peer, l := range t.peers {
		for n := l.head; n != nil; n = n.next {
			c.Insert(n.prefix(), peer)
		}
	}
	return c
}
