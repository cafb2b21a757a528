package tun

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzCoalesce plans a batch of packets (the fuzzer's bytes cut into
// packets by 2-byte length prefixes) and checks what the write side
// promises: every packet is in exactly one group, in order; a packet
// written alone is written unchanged; a merged group's super-packet, its
// checksum completed as the kernel would, is valid, and splitting it again
// gives back exactly the packets merged, so that coalescing never changes
// a byte the receiver sees (nor turns a bad checksum into a good one).
func FuzzCoalesce(f *testing.F) {
	add := func(pkts [][]byte) {
		var b []byte
		for _, p := range pkts {
			b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
			b = append(b, p...)
		}
		f.Add(b)
	}
	for _, v6 := range []bool{false, true} {
		add(segments(v6, 1, randomPayload(5000), 1000))
		p := segments(v6, 7, randomPayload(3000), 1000)
		p[1][len(p[1])-1] ^= 1 // a bad checksum in the middle
		add(p)
	}
	mixed := segments(false, 1, randomPayload(2000), 1000)
	mixed = append(mixed, segments(true, 9, randomPayload(2000), 500)...)
	add(mixed)
	f.Fuzz(func(t *testing.T, data []byte) {
		var orig [][]byte
		for len(data) >= 2 && len(orig) < 128 {
			n := int(binary.BigEndian.Uint16(data))
			data = data[2:]
			if n > len(data) || n > 65535-testOffset {
				break
			}
			orig = append(orig, data[:n])
			data = data[n:]
		}
		if len(orig) == 0 {
			return
		}
		bufs := withHeadroom(orig)
		var c coalescer
		groups := c.plan(bufs, testOffset)
		seen := make([]bool, len(orig))
		prevFirst := -1
		for gi := range groups {
			g := &groups[gi]
			if g.first <= prevFirst {
				t.Fatalf("group %d starts at %d after a group at %d", gi, g.first, prevFirst)
			}
			prevFirst = g.first
			var members []int
			for i := g.first; i >= 0; i = c.next[i] {
				if seen[i] {
					t.Fatalf("packet %d in two groups", i)
				}
				seen[i] = true
				members = append(members, i)
				if len(members) > len(orig) {
					t.Fatal("a cycle in a group")
				}
			}
			if len(members) != g.count {
				t.Fatalf("group %d: %d members, count %d", gi, len(members), g.count)
			}
			if g.count == 1 {
				if !bytes.Equal(bufs[g.first][testOffset:], orig[g.first]) {
					t.Fatalf("packet %d, written alone, changed", g.first)
				}
				continue
			}
			super, h := superOf(&c, g, bufs)
			full := append([]byte(nil), super...)
			kernelComplete(full, h)
			if !refL4Valid(full, g.l4, ipProtoTCP) {
				t.Fatalf("group %d: the completed super-packet's checksum is wrong", gi)
			}
			var s segmenter
			if err := s.reset(super, h); err != nil {
				t.Fatalf("group %d: the super-packet does not split: %v", gi, err)
			}
			out, sizes := segBufs(g.count, 65535)
			n, err := s.fill(out, sizes, testOffset)
			if err != nil || n != g.count {
				t.Fatalf("group %d: split = %d, %v; want %d", gi, n, err, g.count)
			}
			for k, i := range members {
				if got := out[k][testOffset : testOffset+sizes[k]]; !bytes.Equal(got, orig[i]) {
					t.Fatalf("group %d: packet %d differs after coalesce and split\n got %x\nwant %x", gi, i, got, orig[i])
				}
			}
		}
		for i, ok := range seen {
			if !ok {
				t.Fatalf("packet %d in no group", i)
			}
		}
	})
}
