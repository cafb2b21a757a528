package tun

import (
	"fmt"
	"testing"
)

// BenchmarkGSOSplit splits a 64 KiB TCP super-packet into MTU 1420
// segments, as Read does for every super-packet the kernel hands over.
func BenchmarkGSOSplit(b *testing.B) {
	for _, v6 := range []bool{false, true} {
		b.Run(fmt.Sprintf("v6=%v", v6), func(b *testing.B) {
			mss := 1420 - 20 - 32
			if v6 {
				mss -= 20
			}
			pkt, h := superPacket(v6, ipProtoTCP, tcpACK|tcpPSH, randomPayload(mss*47), mss)
			bufs, sizes := segBufs(128, 1420)
			var s segmenter
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.reset(pkt, h); err != nil {
					b.Fatal(err)
				}
				if _, err := s.fill(bufs, sizes, testOffset); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGROCoalesce plans and finishes a batch of 128 segments of two
// interleaved flows, as Write does before its writev calls.
func BenchmarkGROCoalesce(b *testing.B) {
	mss := 1420 - 20 - 32
	a := segments(false, 1, randomPayload(64*mss), mss)
	o := segments(false, 1, randomPayload(64*mss), mss)
	for _, p := range o {
		p[22]++ // another destination port
	}
	// Keep the second flow's checksums valid after the port change.
	for _, p := range o {
		p[36], p[37] = 0, 0
		c := ^uint16(checksum(refPseudo(p, ipProtoTCP, len(p)-20), p[20:]))
		p[36], p[37] = byte(c>>8), byte(c)
	}
	var pkts [][]byte
	for i := range a {
		pkts = append(pkts, a[i], o[i])
	}
	orig := withHeadroom(pkts)
	bufs := withHeadroom(pkts)
	var c coalescer
	var h vnetHdr
	total := 0
	for _, p := range pkts {
		total += len(p)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for i := range bufs {
			copy(bufs[i][testOffset:testOffset+40], orig[i][testOffset:testOffset+40])
		}
		groups := c.plan(bufs, testOffset)
		for gi := range groups {
			g := &groups[gi]
			if g.count > 1 {
				g.finish(bufs[g.first][testOffset:], &h)
			}
		}
		if len(groups) != 4 {
			b.Fatalf("%d groups", len(groups))
		}
	}
}

func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{20, 64, 1420, 65535} {
		buf := randomPayload(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			var s uint16
			for b.Loop() {
				s += csum(buf, 0)
			}
			_ = s
		})
	}
}
