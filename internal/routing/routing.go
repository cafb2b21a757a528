// Package routing implements cryptokey routing's AllowedIPs table
// (whitepaper §2): longest-prefix match for IPv4 and IPv6, mapping prefixes
// to peers. It imports nothing of this module.
//
// Each address family has its own path-compressed binary trie (as the Linux
// kernel's allowedips.c does), so a lookup visits at most one node per
// distinct prefix length on the path to the address. Once a family holds
// many prefixes, a jump table indexed by the address's first bits (8 to 20
// of them, growing with the table) lets a lookup start deep in the trie
// instead of at its root; it is kept exact on every update (see jump.go).
//
// Addresses are looked up in their own family: an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) is an IPv6 address and matches only IPv6 prefixes such as
// ::ffff:0:0/96, never an IPv4 prefix. Zones are ignored.
//
// Besides the tries, the table keeps for every peer an intrusive list of its
// prefixes in insertion order, so RemovePeer and Prefixes cost time
// proportional to that peer's prefixes, not to the table. The list costs a
// peer one map entry pointing at its first node, nothing more: a table of a
// million peers with one prefix each is mostly trie nodes.
package routing

import "net/netip"

// Table maps prefixes to peers of type P. The zero value is an empty table.
// It is not safe for concurrent writes; readers may call Lookup concurrently
// with each other (callers guard writes with a lock).
type Table[P comparable] struct {
	v4, v6 family[P]
	peers  peerIndex[P]

	// fixedStride, when set, forces both families' jump tables to that
	// stride whatever their size (tests use it to exercise small tables).
	fixedStride uint8
}

func (t *Table[P]) family(v6 bool) *family[P] {
	if v6 {
		return &t.v6
	}
	return &t.v4
}

// Insert maps prefix (masked to its bits first) to peer, taking it from any
// peer that had it, as wg's semantics say. Re-inserting a prefix its peer
// already holds keeps its place in Prefixes. Invalid prefixes are ignored.
func (t *Table[P]) Insert(prefix netip.Prefix, peer P) {
	if !prefix.IsValid() {
		return
	}
	v6 := prefix.Addr().Is6()
	f := t.family(v6)
	b := uint8(prefix.Bits())
	k := addrKey(prefix.Addr()).mask(b)
	n := f.insertNode(k, b, v6)
	if n.hasPeer {
		if n.peer == peer {
			return
		}
		t.unlink(n)
	} else {
		n.hasPeer = true
		f.n++
	}
	n.peer = peer
	t.link(n)
	if !f.resize(t.fixedStride) {
		f.refresh(k, b)
	}
}

// link appends n to the list of n.peer.
func (t *Table[P]) link(n *node[P]) { t.peers.link(n) }

// unlink takes n out of the list of n.peer.
func (t *Table[P]) unlink(n *node[P]) { t.peers.unlink(n) }

// Remove deletes prefix if it maps to peer.
func (t *Table[P]) Remove(prefix netip.Prefix, peer P) {
	if !prefix.IsValid() {
		return
	}
	f := t.family(prefix.Addr().Is6())
	b := uint8(prefix.Bits())
	n := f.find(addrKey(prefix.Addr()).mask(b), b)
	if n == nil || n.peer != peer {
		return
	}
	t.unlink(n)
	t.removeNode(f, n)
}

// removeNode drops the prefix held by n and brings the jump table up to
// date.
func (t *Table[P]) removeNode(f *family[P], n *node[P]) {
	k, b := n.key, n.bits
	f.removeNode(n)
	f.n--
	if !f.resize(t.fixedStride) {
		f.refresh(k, b)
	}
}

// RemovePeer deletes every prefix of peer, in time proportional to the
// number of prefixes the peer has.
func (t *Table[P]) RemovePeer(peer P) {
	for _, n := range t.peers.take(peer) {
		t.removeNode(t.family(n.isV6), n)
	}
}

// Lookup returns the peer of the longest prefix containing addr. It does not
// allocate and may run concurrently with other Lookups.
func (t *Table[P]) Lookup(addr netip.Addr) (peer P, ok bool) {
	if addr.Is4() {
		b := addr.As4()
		return t.v4.lookup(key{hi: uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32})
	}
	if addr.Is6() {
		return t.v6.lookup(addrKey(addr))
	}
	return peer, false
}

// Prefixes returns peer's prefixes in the order they were inserted.
func (t *Table[P]) Prefixes(peer P) []netip.Prefix {
	n := t.peers.count(peer)
	if n == 0 {
		return nil
	}
	return t.AppendPrefixes(make([]netip.Prefix, 0, n), peer)
}

// AppendPrefixes appends peer's prefixes, in the order they were inserted,
// to dst and returns the extended slice: a caller listing many peers can
// reuse one buffer.
func (t *Table[P]) AppendPrefixes(dst []netip.Prefix, peer P) []netip.Prefix {
	t.peers.each(peer, func(n *node[P]) { dst = append(dst, n.prefix()) })
	return dst
}

// Len returns how many prefixes the table holds.
func (t *Table[P]) Len() int { return t.v4.n + t.v6.n }

// Clone returns an independent copy of t, with every peer's prefixes in the
// same order. It costs time proportional to the table's size and only reads
// t, so it may run alongside Lookup and Prefixes (under a read lock), as a
// copy-on-write update needs.
func (t *Table[P]) Clone() *Table[P] {
	c := &Table[P]{fixedStride: t.fixedStride}
	copies := make(map[*node[P]]*node[P], t.Len())
	c.v4 = t.v4.clone(copies)
	c.v6 = t.v6.clone(copies)
	for _, n := range t.peers.one {
		c.link(copies[n])
	}
	for _, l := range t.peers.many {
		for _, n := range l.nodes {
			if n != nil {
				c.link(copies[n])
			}
		}
	}
	return c
}
