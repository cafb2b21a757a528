package tun

import (
	"bytes"
	"encoding/binary"
)

// The write side of the offloads: a batch of packets becomes a list of
// groups, each written with one writev as a virtio-net header, the first
// packet, and the payloads of the packets merged into it. A group of TCP
// segments of one flow is one super-packet; the kernel takes it as if its
// own GRO had merged them. The rules are GRO's (net/ipv4/tcp_offload.c):
// same addresses, ports, IP fields and TCP options, the next sequence
// number, the same acknowledgement, no flags but ACK (PSH ends a group, as
// does a segment shorter than the first), and valid checksums.
//
// Every segment's TCP checksum is verified before it joins a group, though
// the AEAD has authenticated every byte: the AEAD proves the peer sent
// these bytes, not that they were intact when the peer's host encrypted
// them. A merged super-packet gets a new, valid checksum, so merging a
// corrupt segment would launder it for whoever this host forwards it to (a
// hub); a segment with a bad checksum is therefore written alone and
// unchanged, exactly as it would be without coalescing.

// maxGroupSegments bounds a group; GRO's own limit is 64 segments.
const maxGroupSegments = 64

// maxOpenFlows is how many flows the coalescer follows at once in a batch;
// a packet of another flow closes the oldest.
const maxOpenFlows = 8

// group is a run of packets written as one.
type group struct {
	first   int // index in the batch of the packet carrying the headers
	last    int // index of the last packet merged; first if none
	count   int
	l4      int    // offset of the TCP header
	hlen    int    // offset of the payload
	mss     int    // payload of the first segment
	size    int    // bytes of the super-packet (headers once)
	nextSeq uint32 // sequence number the next segment must have
	v6      bool
	closed  bool // no more segments may join
	psh     bool // the last segment had PSH
	checked bool // the first packet's checksums were verified
	badSum  bool // a checksum of the first packet is wrong: never merge
}

// coalescer groups the packets of one Write. Its slices are reused from
// batch to batch.
type coalescer struct {
	groups []group
	next   []int // next[i]: the index of the packet after i in its group, or -1
	open   [maxOpenFlows]int
	nOpen  int
}

// plan groups bufs[i][offset:], in order of each group's first packet.
func (c *coalescer) plan(bufs [][]byte, offset int) []group {
	c.groups = c.groups[:0]
	if cap(c.next) < len(bufs) {
		c.next = make([]int, len(bufs))
	}
	c.next = c.next[:len(bufs)]
	c.nOpen = 0
	for i, buf := range bufs {
		c.next[i] = -1
		pkt := buf[offset:]
		l4, hlen, v6, ok := tcpSegment(pkt)
		if !ok {
			c.closeFlow(bufs, offset, pkt)
			c.groups = append(c.groups, group{first: i, last: i, count: 1, closed: true})
			continue
		}
		if c.join(bufs, offset, i, pkt, hlen) {
			continue
		}
		flags := pkt[l4+13]
		g := group{
			first: i, last: i, count: 1, l4: l4, hlen: hlen, v6: v6,
			mss:     len(pkt) - hlen,
			size:    len(pkt),
			nextSeq: binary.BigEndian.Uint32(pkt[l4+4:]) + uint32(len(pkt)-hlen),
			psh:     flags&tcpPSH != 0,
			closed:  flags&tcpPSH != 0,
		}
		c.groups = append(c.groups, g)
		if !g.closed {
			c.track(len(c.groups) - 1)
		}
	}
	return c.groups
}

// track makes group gi an open flow, forgetting the oldest if need be.
func (c *coalescer) track(gi int) {
	if c.nOpen == maxOpenFlows {
		copy(c.open[:], c.open[1:])
		c.nOpen--
	}
	c.open[c.nOpen] = gi
	c.nOpen++
}

// join merges packet i into the open group of its flow if GRO's rules
// allow it, and reports whether it did. A packet of a tracked flow that
// cannot join closes the flow's group, so that the flow's order is kept.
func (c *coalescer) join(bufs [][]byte, offset, i int, pkt []byte, hlen int) bool {
	for k := c.nOpen - 1; k >= 0; k-- {
		g := &c.groups[c.open[k]]
		head := bufs[g.first][offset:]
		if !sameFlow(head, pkt, g.l4, g.v6) {
			continue
		}
		if !g.closed && canJoin(g, head, pkt, hlen) {
			if !g.checked {
				g.checked = true
				g.badSum = !segmentValid(head, g.l4, g.v6)
			}
			if !g.badSum && segmentValid(pkt, g.l4, g.v6) {
				c.merge(g, i, pkt)
				if g.closed {
					c.untrack(k)
				}
				return true
			}
		}
		// The flow goes on in a new group.
		g.closed = true
		c.untrack(k)
		return false
	}
	return false
}

func (c *coalescer) untrack(k int) {
	copy(c.open[k:], c.open[k+1:c.nOpen])
	c.nOpen--
}

// merge appends packet i to g.
func (c *coalescer) merge(g *group, i int, pkt []byte) {
	payload := len(pkt) - g.hlen
	c.next[g.last] = i
	g.last = i
	g.count++
	g.size += payload
	g.nextSeq += uint32(payload)
	flags := pkt[g.l4+13]
	g.psh = flags&tcpPSH != 0
	if g.psh || payload < g.mss || g.count == maxGroupSegments || g.size+g.mss > maxSuperPacket {
		g.closed = true
	}
}

// tcpSegment reports whether pkt is a TCP segment that may be merged:
// IPv4 without options or fragmentation, or IPv6 without extension
// headers; only ACK and PSH set; some payload; lengths consistent. It
// returns the offsets of the TCP header and of the payload.
func tcpSegment(pkt []byte) (l4, hlen int, v6, ok bool) {
	if len(pkt) < 20 {
		return 0, 0, false, false
	}
	switch pkt[0] >> 4 {
	case 4:
		if pkt[0] != 0x45 || pkt[9] != ipProtoTCP || int(binary.BigEndian.Uint16(pkt[2:])) != len(pkt) ||
			binary.BigEndian.Uint16(pkt[6:])&0x3fff != 0 {
			return 0, 0, false, false
		}
		l4 = 20
	case 6:
		if len(pkt) < 40 || pkt[6] != ipProtoTCP || int(binary.BigEndian.Uint16(pkt[4:]))+40 != len(pkt) {
			return 0, 0, false, false
		}
		l4, v6 = 40, true
	default:
		return 0, 0, false, false
	}
	if len(pkt) < l4+20 {
		return 0, 0, false, false
	}
	doff := int(pkt[l4+12]>>4) * 4
	hlen = l4 + doff
	if doff < 20 || hlen >= len(pkt) || pkt[l4+13]&^tcpPSH != tcpACK {
		return 0, 0, false, false
	}
	return l4, hlen, v6, true
}

// sameFlow compares addresses and ports.
func sameFlow(a, b []byte, l4 int, v6 bool) bool {
	if v6 != (b[0]>>4 == 6) {
		return false
	}
	if v6 {
		return bytes.Equal(a[8:40], b[8:40]) && bytes.Equal(a[l4:l4+4], b[l4:l4+4])
	}
	return bytes.Equal(a[12:20], b[12:20]) && bytes.Equal(a[l4:l4+4], b[l4:l4+4])
}

// canJoin checks the rest of GRO's rules for appending pkt, of g's flow,
// to g whose first packet is head.
func canJoin(g *group, head, pkt []byte, hlen int) bool {
	l4 := g.l4
	if hlen != g.hlen || len(pkt)-hlen > g.mss ||
		binary.BigEndian.Uint32(pkt[l4+4:]) != g.nextSeq ||
		g.size+len(pkt)-hlen > maxSuperPacket {
		return false
	}
	// Acknowledgement, and options (from byte 20 on) byte for byte.
	if !bytes.Equal(head[l4+8:l4+12], pkt[l4+8:l4+12]) || !bytes.Equal(head[l4+20:hlen], pkt[l4+20:hlen]) {
		return false
	}
	if g.v6 {
		// Traffic class and flow label, and hop limit.
		return bytes.Equal(head[0:4], pkt[0:4]) && head[7] == pkt[7]
	}
	// TOS, TTL, and the DF bit.
	return head[1] == pkt[1] && head[8] == pkt[8] && head[6]&0x40 == pkt[6]&0x40
}

// segmentValid verifies a segment's IPv4 header checksum and its TCP
// checksum (over the pseudo-header, the TCP header and the payload).
func segmentValid(pkt []byte, l4 int, v6 bool) bool {
	if !ipHeaderValid(pkt, l4) {
		return false
	}
	var acc uint64
	if v6 {
		acc = pseudoSum(pkt[8:24], pkt[24:40])
	} else {
		acc = pseudoSum(pkt[12:16], pkt[16:20])
	}
	return fold(sum64(pkt[l4:], acc+ipProtoTCP+uint64(len(pkt)-l4))) == 0xffff
}

// ipHeaderValid verifies the header checksum of an IPv4 packet (l4 20);
// IPv6 has none. Merged packets get a new one, which must not hide a
// corrupt header.
func ipHeaderValid(pkt []byte, l4 int) bool {
	return l4 == 40 || fold(sum64(pkt[:20], 0)) == 0xffff
}

// finish turns g's first packet into the headers of the super-packet and
// fills h: IP length (and IPv4 header checksum), PSH from the last segment,
// and the TCP checksum field holding the pseudo-header's sum for the kernel
// to complete.
func (g *group) finish(head []byte, h *vnetHdr) {
	l4 := g.l4
	var addrs uint64
	if g.v6 {
		binary.BigEndian.PutUint16(head[4:], uint16(g.size-40))
		addrs = pseudoSum(head[8:24], head[24:40])
		h.gsoType = vnetGSOTCPv6
	} else {
		binary.BigEndian.PutUint16(head[2:], uint16(g.size))
		head[10], head[11] = 0, 0
		binary.BigEndian.PutUint16(head[10:], csum(head[:20], 0))
		addrs = pseudoSum(head[12:16], head[16:20])
		h.gsoType = vnetGSOTCPv4
	}
	if g.psh {
		head[l4+13] |= tcpPSH
	}
	binary.BigEndian.PutUint16(head[l4+16:], fold(addrs+ipProtoTCP+uint64(g.size-l4)))
	h.flags = vnetFlagNeedsCsum
	h.hdrLen = uint16(g.hlen)
	h.gsoSize = uint16(g.mss)
	h.csumStart = uint16(l4)
	h.csumOffset = 16
}

// closeFlow closes the open group of pkt's flow, if pkt is TCP: a segment
// that cannot be merged (a pure ACK, a FIN) must not be overtaken by later
// segments of its flow joining an earlier group.
func (c *coalescer) closeFlow(bufs [][]byte, offset int, pkt []byte) {
	l4, v6 := 0, false
	switch {
	case len(pkt) >= 24 && pkt[0]>>4 == 4 && pkt[9] == ipProtoTCP:
		l4 = int(pkt[0]&0xf) * 4
	case len(pkt) >= 44 && pkt[0]>>4 == 6 && pkt[6] == ipProtoTCP:
		l4, v6 = 40, true
	default:
		return
	}
	if !v6 && l4 != 20 {
		// IP options: not worth finding the flow; close them all.
		for k := range c.nOpen {
			c.groups[c.open[k]].closed = true
		}
		c.nOpen = 0
		return
	}
	for k := c.nOpen - 1; k >= 0; k-- {
		g := &c.groups[c.open[k]]
		if l4 != g.l4 || len(pkt) < l4+4 {
			continue
		}
		if sameFlow(bufs[g.first][offset:], pkt, l4, v6) {
			g.closed = true
			c.untrack(k)
			return
		}
	}
}

// singles is the plan without merging: every packet a group of its own.
func (c *coalescer) singles(n int) []group {
	c.groups = c.groups[:0]
	if cap(c.next) < n {
		c.next = make([]int, n)
	}
	c.next = c.next[:n]
	for i := range n {
		c.next[i] = -1
		c.groups = append(c.groups, group{first: i, last: i, count: 1, closed: true})
	}
	return c.groups
}
