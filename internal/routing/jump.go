package routing

// The jump table is an exact shortcut into a family's trie. For every value
// v of an address's first stride bits, entry v records
//
//   - next: the first node at depth >= stride on the trie path of any
//     address starting with v (nil if the path ends or leaves v earlier), and
//   - peer/ok: the longest match among the nodes shallower than stride on
//     that path.
//
// A lookup resumes the ordinary trie walk at next and falls back to peer,
// skipping the top of the trie, where most of the cache misses of a large
// table are. An update of the prefix k/b can change only the entries of
// the addresses inside k/b: nodes it creates or prunes lie inside k/b or are
// branch nodes above it, which carry no peer and are never a next at depth
// >= stride unless they fall in the same single entry. So refresh rebuilds
// just those entries (one entry when b >= stride).
//
// The stride grows with the family (see strideFor), so small tables pay
// nothing, and the table stays a fraction of the trie it indexes: a
// million-prefix family (about 2M nodes of 64 bytes) spends 24 MB on 2^20
// entries, which cut a lookup's node visits from about 20 to 1 or 2.

type jumpTable[P comparable] struct {
	stride  uint8 // bits of the address that index entries; 0: no table
	entries []jumpEntry[P]
}

type jumpEntry[P comparable] struct {
	next *node[P]
	peer P
	ok   bool
}

// strideFor returns the jump table stride for a family of n prefixes.
func strideFor(n int) uint8 {
	switch {
	case n < 64:
		return 0
	case n < 4096:
		return 8
	case n < 65536:
		return 12
	case n < 1<<18:
		return 16
	}
	return 20
}

// resize adapts the jump table to the family's size, with hysteresis so
// that a size hovering at a threshold does not rebuild on every update. It
// reports whether it rebuilt the table (which then needs no refresh).
func (f *family[P]) resize(fixed uint8) bool {
	cur := f.jump.stride
	want := fixed
	if want == 0 {
		want = strideFor(f.n)
		if want < cur && strideFor(4*f.n) >= cur {
			want = cur
		}
	}
	if want == cur {
		return false
	}
	f.jump.stride = want
	f.jump.entries = nil
	if want != 0 {
		f.jump.entries = make([]jumpEntry[P], 1<<want)
		var zero P
		f.jump.fill(f.root, zero, false, 0, 0)
	}
	return true
}

// refresh recomputes the entries of the addresses inside the masked prefix
// k/b after the trie changed there.
func (f *family[P]) refresh(k key, b uint8) {
	s := f.jump.stride
	if s == 0 {
		return
	}
	l := min(b, s)
	var peer P
	var ok bool
	n := f.root
	for n != nil && n.bits < l {
		if !n.contains(k) {
			n = nil
			break
		}
		if n.hasPeer {
			peer, ok = n.peer, true
		}
		n = n.child[k.bit(n.bits)]
	}
	v0 := uint32(k.hi>>(64-s)) &^ (1<<(s-l) - 1)
	f.jump.fill(n, peer, ok, v0, l)
}

// fill sets the entries whose first l bits equal those of v0, given that n
// is the first node at depth >= l on their common path (or nil) and
// peer/ok the best match above it.
func (j *jumpTable[P]) fill(n *node[P], peer P, ok bool, v0 uint32, l uint8) {
	s := j.stride
	ents := j.entries[v0 : v0+1<<(s-l)]
	if n == nil || uint32(n.key.hi>>(64-s))>>(s-l) != v0>>(s-l) {
		for i := range ents {
			ents[i] = jumpEntry[P]{peer: peer, ok: ok}
		}
		return
	}
	top := uint32(n.key.hi >> (64 - s))
	if n.bits >= s {
		for i := range ents {
			ents[i] = jumpEntry[P]{peer: peer, ok: ok}
		}
		j.entries[top].next = n
		return
	}
	// n's own entries are a sub-range; the rest of the range has no path.
	span := uint32(1) << (s - n.bits)
	for i := v0; i < top; i++ {
		j.entries[i] = jumpEntry[P]{peer: peer, ok: ok}
	}
	for i := top + span; i < v0+uint32(len(ents)); i++ {
		j.entries[i] = jumpEntry[P]{peer: peer, ok: ok}
	}
	if n.hasPeer {
		peer, ok = n.peer, true
	}
	j.fill(n.child[0], peer, ok, top, n.bits+1)
	j.fill(n.child[1], peer, ok, top+span/2, n.bits+1)
}
