package routing

// peerIndex lists every peer's prefix nodes in insertion order, so that
// RemovePeer and Prefixes cost time proportional to that peer's prefixes,
// not to the table. It costs a peer with one prefix (the usual case of a
// hub's peers) one map entry and nothing in the node; a peer with more has
// a slice of its nodes, in which each node knows its slot, so that taking
// one out is O(1) too: the slot is left empty, and the slice compacted
// (keeping the order) once more than half of it is empty.
type peerIndex[P comparable] struct {
	one  map[P]*node[P]
	many map[P]*nodeList[P]
}

type nodeList[P comparable] struct {
	nodes []*node[P] // insertion order; nil where a node was taken out
	live  int        // non-nil entries, at least 2
}

// link appends n to the list of n.peer.
func (ix *peerIndex[P]) link(n *node[P]) {
	p := n.peer
	if l := ix.many[p]; l != nil {
		n.slot = int32(len(l.nodes))
		l.nodes = append(l.nodes, n)
		l.live++
		return
	}
	first := ix.one[p]
	if first == nil {
		if ix.one == nil {
			ix.one = make(map[P]*node[P])
		}
		n.slot = 0
		ix.one[p] = n
		return
	}
	delete(ix.one, p)
	if ix.many == nil {
		ix.many = make(map[P]*nodeList[P])
	}
	first.slot, n.slot = 0, 1
	ix.many[p] = &nodeList[P]{nodes: []*node[P]{first, n}, live: 2}
}

// unlink takes n out of the list of n.peer.
func (ix *peerIndex[P]) unlink(n *node[P]) {
	p := n.peer
	if ix.one[p] == n {
		delete(ix.one, p)
		return
	}
	l := ix.many[p]
	l.nodes[n.slot] = nil
	n.slot = 0
	l.live--
	if l.live == 1 {
		// Slots are at most twice the live nodes plus one: this scan
		// looks at three at most.
		for _, m := range l.nodes {
			if m != nil {
				delete(ix.many, p)
				m.slot = 0
				ix.one[p] = m
				return
			}
		}
	}
	if len(l.nodes) > 2*l.live {
		k := 0
		for _, m := range l.nodes {
			if m != nil {
				m.slot = int32(k)
				l.nodes[k] = m
				k++
			}
		}
		clear(l.nodes[k:])
		l.nodes = l.nodes[:k]
	}
}

// each calls fn with each of peer's nodes in insertion order. fn must not
// change the index.
func (ix *peerIndex[P]) each(peer P, fn func(*node[P])) {
	if n := ix.one[peer]; n != nil {
		fn(n)
		return
	}
	if l := ix.many[peer]; l != nil {
		for _, n := range l.nodes {
			if n != nil {
				fn(n)
			}
		}
	}
}

// count returns how many prefixes peer has.
func (ix *peerIndex[P]) count(peer P) int {
	if ix.one[peer] != nil {
		return 1
	}
	if l := ix.many[peer]; l != nil {
		return l.live
	}
	return 0
}

// take removes peer's list from the index and returns its nodes in
// insertion order.
func (ix *peerIndex[P]) take(peer P) []*node[P] {
	if n := ix.one[peer]; n != nil {
		delete(ix.one, peer)
		return []*node[P]{n}
	}
	l := ix.many[peer]
	if l == nil {
		return nil
	}
	delete(ix.many, peer)
	out := l.nodes[:0]
	for _, n := range l.nodes {
		if n != nil {
			n.slot = 0
			out = append(out, n)
		}
	}
	return out
}

// peers returns how many peers have a prefix.
func (ix *peerIndex[P]) peers() int { return len(ix.one) + len(ix.many) }
