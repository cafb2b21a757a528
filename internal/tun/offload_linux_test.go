package tun

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The offload code is checked against straightforward helpers: checksum
// (tun_linux_test.go) sums 16-bit words one at a time.

const testOffset = 16 // the engine's headroom

var (
	v4src = []byte{10, 0, 0, 1}
	v4dst = []byte{10, 0, 0, 2}
	v6src = []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	v6dst = []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}
)

// refPseudo is the pseudo-header sum for a transport length, unfolded.
func refPseudo(pkt []byte, proto byte, l4len int) uint32 {
	var ph []byte
	if pkt[0]>>4 == 4 {
		ph = append(append(ph, pkt[12:20]...), 0, proto)
	} else {
		ph = append(append(ph, pkt[8:40]...), 0, 0, 0, proto)
		ph = binary.BigEndian.AppendUint16(ph, 0) // upper length bits
	}
	ph = binary.BigEndian.AppendUint16(ph, uint16(l4len))
	return checksum(0, ph)
}

// refL4Valid verifies a TCP or UDP checksum of a whole packet the simple way.
func refL4Valid(pkt []byte, l4 int, proto byte) bool {
	return checksum(refPseudo(pkt, proto, len(pkt)-l4), pkt[l4:]) == 0xffff
}

func refIPv4Valid(pkt []byte) bool {
	return checksum(0, pkt[:int(pkt[0]&0xf)*4]) == 0xffff
}

// ipHeader builds an IPv4 or IPv6 header for a packet of total bytes.
func ipHeader(v6 bool, proto byte, total int, id uint16) []byte {
	if v6 {
		h := make([]byte, 40)
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(total-40))
		h[6], h[7] = proto, 64
		copy(h[8:], v6src)
		copy(h[24:], v6dst)
		return h
	}
	h := make([]byte, 20)
	h[0], h[1] = 0x45, 0
	binary.BigEndian.PutUint16(h[2:], uint16(total))
	binary.BigEndian.PutUint16(h[4:], id)
	h[6] = 0x40 // DF
	h[8], h[9] = 64, proto
	copy(h[12:], v4src)
	copy(h[16:], v4dst)
	binary.BigEndian.PutUint16(h[10:], ^uint16(checksum(0, h)))
	return h
}

// tcpPacket builds a TCP segment with timestamps and a valid checksum.
func tcpPacket(v6 bool, id uint16, seq uint32, flags byte, payload []byte) []byte {
	tcp := make([]byte, 32)
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 5201)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], 0xabcdef01)
	tcp[12] = 8 << 4
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 512)
	copy(tcp[20:], []byte{1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9}) // NOP NOP TS
	l3 := 20
	if v6 {
		l3 = 40
	}
	pkt := append(ipHeader(v6, ipProtoTCP, l3+len(tcp)+len(payload), id), tcp...)
	pkt = append(pkt, payload...)
	binary.BigEndian.PutUint16(pkt[l3+16:], ^uint16(checksum(refPseudo(pkt, ipProtoTCP, len(pkt)-l3), pkt[l3:])))
	return pkt
}

// superPacket builds what the kernel hands over with TSO or USO: one
// packet with all the payload and only the pseudo-header in the checksum
// field, and its virtio-net header.
func superPacket(v6 bool, proto byte, flags byte, payload []byte, mss int) ([]byte, vnetHdr) {
	l3 := 20
	if v6 {
		l3 = 40
	}
	var pkt []byte
	h := vnetHdr{flags: vnetFlagNeedsCsum, gsoSize: uint16(mss), csumStart: uint16(l3)}
	if proto == ipProtoTCP {
		pkt = tcpPacket(v6, 100, 1000, flags, payload)
		h.gsoType, h.csumOffset, h.hdrLen = vnetGSOTCPv4, 16, uint16(l3+32)
		if v6 {
			h.gsoType = vnetGSOTCPv6
		}
	} else {
		pkt = append(ipHeader(v6, ipProtoUDP, l3+8+len(payload), 100), make([]byte, 8)...)
		binary.BigEndian.PutUint16(pkt[l3:], 4000)
		binary.BigEndian.PutUint16(pkt[l3+2:], 5000)
		binary.BigEndian.PutUint16(pkt[l3+4:], uint16(8+len(payload)))
		pkt = append(pkt, payload...)
		h.gsoType, h.csumOffset, h.hdrLen = vnetGSOUDPL4, 6, uint16(l3+8)
	}
	at := l3 + int(h.csumOffset)
	binary.BigEndian.PutUint16(pkt[at:], uint16(refPseudo(pkt, proto, len(pkt)-l3)))
	return pkt, h
}

func randomPayload(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func segBufs(n, size int) ([][]byte, []int) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, testOffset+size)
	}
	return bufs, make([]int, n)
}

func TestSplitSegments(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v6      bool
		proto   byte
		payload int
		mss     int
	}{
		{"tcp4", false, ipProtoTCP, 64000, 1368},
		{"tcp4 exact", false, ipProtoTCP, 1368 * 10, 1368},
		{"tcp4 one", false, ipProtoTCP, 1000, 1368},
		{"tcp4 odd", false, ipProtoTCP, 12345, 1001},
		{"tcp6", true, ipProtoTCP, 60000, 1348},
		{"udp4", false, ipProtoUDP, 10 * 1200, 1200},
		{"udp4 short tail", false, ipProtoUDP, 10*1200 + 7, 1200},
		{"udp6", true, ipProtoUDP, 5*1000 + 1, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := randomPayload(tc.payload)
			pkt, h := superPacket(tc.v6, tc.proto, tcpACK|tcpPSH|tcpFIN|tcpCWR, payload, tc.mss)
			l4 := int(h.csumStart)
			hlen := int(h.hdrLen)
			var s segmenter
			if err := s.reset(append([]byte(nil), pkt...), h); err != nil {
				t.Fatal(err)
			}
			want := (tc.payload + tc.mss - 1) / tc.mss
			bufs, sizes := segBufs(want+3, 1500)
			// Hand out over several calls: 3 buffers at a time.
			var segs [][]byte
			for s.pending() {
				k := len(segs)
				n, err := s.fill(bufs[k:min(k+3, len(bufs))], sizes[k:], testOffset)
				if err != nil {
					t.Fatal(err)
				}
				for i := range n {
					segs = append(segs, bufs[k+i][testOffset:testOffset+sizes[k+i]])
				}
			}
			if len(segs) != want {
				t.Fatalf("%d segments, want %d", len(segs), want)
			}
			var got []byte
			for i, seg := range segs {
				if !bytes.Equal(bufs[i][:testOffset], make([]byte, testOffset)) {
					t.Fatalf("segment %d: bytes before offset written", i)
				}
				last := i == len(segs)-1
				if !last && len(seg) != hlen+tc.mss {
					t.Errorf("segment %d: %d bytes, want %d", i, len(seg), hlen+tc.mss)
				}
				if tc.v6 {
					if int(binary.BigEndian.Uint16(seg[4:]))+40 != len(seg) {
						t.Errorf("segment %d: IPv6 payload length %d", i, binary.BigEndian.Uint16(seg[4:]))
					}
				} else {
					if int(binary.BigEndian.Uint16(seg[2:])) != len(seg) || !refIPv4Valid(seg) {
						t.Errorf("segment %d: IPv4 length %d or header checksum wrong", i, binary.BigEndian.Uint16(seg[2:]))
					}
					if id := binary.BigEndian.Uint16(seg[4:]); id != 100+uint16(i) {
						t.Errorf("segment %d: IPv4 ID %d, want %d", i, id, 100+i)
					}
				}
				if !refL4Valid(seg, l4, tc.proto) {
					t.Errorf("segment %d: transport checksum wrong", i)
				}
				if tc.proto == ipProtoTCP {
					if seq := binary.BigEndian.Uint32(seg[l4+4:]); seq != 1000+uint32(i*tc.mss) {
						t.Errorf("segment %d: seq %d", i, seq)
					}
					flags := seg[l4+13]
					wantFlags := byte(tcpACK)
					if i == 0 {
						wantFlags |= tcpCWR
					}
					if last {
						wantFlags |= tcpPSH | tcpFIN
					}
					if flags != wantFlags {
						t.Errorf("segment %d: flags %#x, want %#x", i, flags, wantFlags)
					}
				} else if int(binary.BigEndian.Uint16(seg[l4+4:])) != len(seg)-l4 {
					t.Errorf("segment %d: UDP length %d", i, binary.BigEndian.Uint16(seg[l4+4:]))
				}
				if !bytes.Equal(seg[:l4-4], pkt[:l4-4]) && tc.v6 {
					// IPv6: nothing but the payload length changes before the addresses.
					if !bytes.Equal(seg[6:l4], pkt[6:l4]) {
						t.Errorf("segment %d: IPv6 header changed", i)
					}
				}
				got = append(got, seg[hlen:]...)
			}
			if !bytes.Equal(got, payload) {
				t.Fatal("payloads do not add up to the super-packet's")
			}
		})
	}
}

func TestSplitPartialChecksum(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, proto := range []byte{ipProtoTCP, ipProtoUDP} {
			t.Run(fmt.Sprintf("v6=%v proto=%d", v6, proto), func(t *testing.T) {
				pkt, h := superPacket(v6, proto, tcpACK, randomPayload(333), 1400)
				h.gsoType, h.gsoSize = vnetGSONone, 0
				var s segmenter
				if err := s.reset(pkt, h); err != nil {
					t.Fatal(err)
				}
				bufs, sizes := segBufs(2, 1500)
				n, err := s.fill(bufs, sizes, testOffset)
				if err != nil || n != 1 || s.pending() {
					t.Fatalf("fill = %d, %v; pending %v", n, err, s.pending())
				}
				if !refL4Valid(bufs[0][testOffset:testOffset+sizes[0]], int(h.csumStart), proto) {
					t.Fatal("checksum not completed")
				}
			})
		}
	}
	// UDP's zero checksum goes out as 0xffff: find a payload that sums to it.
	for i := range 1 << 16 {
		pkt, h := superPacket(false, ipProtoUDP, 0, binary.BigEndian.AppendUint16(nil, uint16(i)), 1400)
		h.gsoType = vnetGSONone
		completeChecksum(pkt, h)
		if c := binary.BigEndian.Uint16(pkt[26:]); c == 0xffff {
			return
		} else if c == 0 {
			t.Fatal("UDP checksum 0 sent")
		}
	}
	t.Fatal("no payload gives a zero UDP checksum")
}

func TestSplitErrors(t *testing.T) {
	pkt, h := superPacket(false, ipProtoTCP, tcpACK, randomPayload(10000), 1400)
	var s segmenter
	if err := s.reset(pkt, h); err != nil {
		t.Fatal(err)
	}
	bufs, sizes := segBufs(10, 1000) // too small for 1400-byte segments
	if n, err := s.fill(bufs, sizes, testOffset); !errors.Is(err, errSegmentTooBig) || n != 0 || s.pending() {
		t.Fatalf("fill into small buffers = %d, %v, pending %v", n, err, s.pending())
	}
	for _, tc := range []struct {
		name string
		mod  func(p []byte, h *vnetHdr)
	}{
		{"no needs-csum", func(p []byte, h *vnetHdr) { h.flags = 0 }},
		{"zero gso size", func(p []byte, h *vnetHdr) { h.gsoSize = 0 }},
		{"csum start", func(p []byte, h *vnetHdr) { h.csumStart = 24 }},
		{"ipv4 length", func(p []byte, h *vnetHdr) { p[2]++ }},
		{"tcp as v6", func(p []byte, h *vnetHdr) { h.gsoType = vnetGSOTCPv6 }},
		{"udp type", func(p []byte, h *vnetHdr) { h.gsoType = vnetGSOUDPL4 }},
		{"ufo", func(p []byte, h *vnetHdr) { h.gsoType = vnetGSOUDP }},
		{"fragment", func(p []byte, h *vnetHdr) { p[6] |= 0x20 }},
		{"tcp doff", func(p []byte, h *vnetHdr) { p[32] = 0x40 }},
		{"not ip", func(p []byte, h *vnetHdr) { p[0] = 0x55 }},
	} {
		p, h := superPacket(false, ipProtoTCP, tcpACK, randomPayload(3000), 1400)
		tc.mod(p, &h)
		if err := s.reset(p, h); !errors.Is(err, errBadVnetPacket) || s.pending() {
			t.Errorf("%s: reset = %v, pending %v", tc.name, err, s.pending())
		}
	}
}

// segments cuts payload into TCP packets of mss bytes, PSH on the last.
func segments(v6 bool, seq uint32, payload []byte, mss int) [][]byte {
	var pkts [][]byte
	for i := 0; i < len(payload); i += mss {
		end := min(i+mss, len(payload))
		flags := byte(tcpACK)
		if end == len(payload) {
			flags |= tcpPSH
		}
		pkts = append(pkts, tcpPacket(v6, uint16(100+len(pkts)), seq+uint32(i), flags, payload[i:end]))
	}
	return pkts
}

func withHeadroom(pkts [][]byte) [][]byte {
	bufs := make([][]byte, len(pkts))
	for i, p := range pkts {
		bufs[i] = append(make([]byte, testOffset), p...)
	}
	return bufs
}

// superOf assembles what writeVnet would write for g: the finished first
// packet and the payloads of the others.
func superOf(c *coalescer, g *group, bufs [][]byte) ([]byte, vnetHdr) {
	var h vnetHdr
	head := bufs[g.first][testOffset:]
	if g.count > 1 {
		g.finish(head, &h)
	}
	out := append([]byte(nil), head...)
	for i := c.next[g.first]; i >= 0; i = c.next[i] {
		out = append(out, bufs[i][testOffset+g.hlen:]...)
	}
	return out, h
}

// kernelComplete does what the kernel does with a partial checksum:
// checksum from csumStart on, with the pseudo-header sum already in place.
func kernelComplete(pkt []byte, h vnetHdr) {
	at := int(h.csumStart + h.csumOffset)
	binary.BigEndian.PutUint16(pkt[at:], ^uint16(checksum(0, pkt[h.csumStart:])))
}

func TestCoalesceRoundTrip(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v6=%v", v6), func(t *testing.T) {
			payload := randomPayload(30000)
			orig := segments(v6, 5000, payload, 1368)
			bufs := withHeadroom(orig)
			var c coalescer
			groups := c.plan(bufs, testOffset)
			if len(groups) != 1 || groups[0].count != len(orig) {
				t.Fatalf("%d groups (first of %d), want 1 of %d", len(groups), groups[0].count, len(orig))
			}
			super, h := superOf(&c, &groups[0], bufs)
			l3 := 20
			if v6 {
				l3 = 40
			}
			if h.gsoSize != 1368 || int(h.hdrLen) != l3+32 || int(h.csumStart) != l3 || h.flags != vnetFlagNeedsCsum {
				t.Fatalf("header %+v", h)
			}
			if !v6 && (!refIPv4Valid(super) || int(binary.BigEndian.Uint16(super[2:])) != len(super)) {
				t.Fatal("IPv4 header of the super-packet")
			}
			// The checksum the kernel would complete must be right.
			full := append([]byte(nil), super...)
			kernelComplete(full, h)
			if !refL4Valid(full, l3, ipProtoTCP) {
				t.Fatal("completed super-packet checksum wrong")
			}
			if full[l3+13] != tcpACK|tcpPSH {
				t.Fatalf("super-packet flags %#x", full[l3+13])
			}
			// And segmenting it again gives back the packets.
			var s segmenter
			if err := s.reset(super, h); err != nil {
				t.Fatal(err)
			}
			out, sizes := segBufs(len(orig), 1500)
			n, err := s.fill(out, sizes, testOffset)
			if err != nil || n != len(orig) {
				t.Fatalf("split = %d, %v", n, err)
			}
			for i := range n {
				if got := out[i][testOffset : testOffset+sizes[i]]; !bytes.Equal(got, orig[i]) {
					t.Fatalf("packet %d differs after coalesce and split\n got %x\nwant %x", i, got[:60], orig[i][:60])
				}
			}
		})
	}
}

func TestCoalesceRules(t *testing.T) {
	mss := 1000
	base := func() [][]byte { return segments(false, 1, randomPayload(5*mss), mss) }
	other := func(p []byte) []byte { // the same segment on another flow
		q := append([]byte(nil), p...)
		q[20]++ // source port
		binary.BigEndian.PutUint16(q[36:], 0)
		binary.BigEndian.PutUint16(q[36:], ^uint16(checksum(refPseudo(q, ipProtoTCP, len(q)-20), q[20:])))
		return q
	}
	udp := append(ipHeader(false, ipProtoUDP, 28, 1), make([]byte, 8)...)
	for _, tc := range []struct {
		name   string
		pkts   func() [][]byte
		counts []int // packets per group, in order
	}{
		{"one flow", base, []int{5}},
		{"gap", func() [][]byte { p := base(); return append(p[:2:2], p[3:]...) }, []int{2, 2}},
		{"repeat", func() [][]byte { p := base(); return append(p[:3:3], p[2:]...) }, []int{3, 3}},
		// A segment with a bad TCP checksum is never merged (the merged
		// super-packet's new checksum would hide the corruption).
		{"bad tcp checksum", func() [][]byte { p := base(); p[2][60] ^= 1; return p }, []int{2, 1, 2}},
		{"bad first tcp checksum", func() [][]byte { p := base(); p[0][60] ^= 1; return p }, []int{1, 4}},
		{"bad last tcp checksum", func() [][]byte { p := base(); p[4][70] ^= 0x40; return p }, []int{4, 1}},
		{"bad v6 tcp checksum", func() [][]byte {
			p := segments(true, 1, randomPayload(5*mss), mss)
			p[1][90] ^= 1
			return p
		}, []int{1, 1, 3}},
		{"bad ip checksum", func() [][]byte { p := base(); p[2][10] ^= 1; return p }, []int{2, 1, 2}},
		{"bad first ip checksum", func() [][]byte { p := base(); p[0][10] ^= 1; return p }, []int{1, 4}},
		{"interleaved flows", func() [][]byte {
			p := base()
			return [][]byte{p[0], other(p[0]), p[1], other(p[1]), p[2], udp, p[3], p[4]}
		}, []int{5, 2, 1}},
		{"pure ack between", func() [][]byte {
			p := base()
			ack := tcpPacket(false, 1, 1+uint32(2*mss), tcpACK, nil)
			return [][]byte{p[0], p[1], ack, p[2], p[3], p[4]}
		}, []int{2, 1, 3}},
		{"syn", func() [][]byte {
			p := base()
			return [][]byte{tcpPacket(false, 1, 0, tcpSYN, nil), p[0], p[1]}
		}, []int{1, 2}},
		{"short middle", func() [][]byte {
			p := segments(false, 1, randomPayload(mss+500), mss)
			q := segments(false, 1+uint32(mss+500), randomPayload(2*mss), mss)
			p[1][20+13] = tcpACK // no PSH
			binary.BigEndian.PutUint16(p[1][36:], 0)
			binary.BigEndian.PutUint16(p[1][36:], ^uint16(checksum(refPseudo(p[1], ipProtoTCP, len(p[1])-20), p[1][20:])))
			return append(p, q...)
		}, []int{2, 2}},
		{"other ack", func() [][]byte {
			p := base()
			binary.BigEndian.PutUint32(p[3][28:], 7)
			binary.BigEndian.PutUint16(p[3][36:], 0)
			binary.BigEndian.PutUint16(p[3][36:], ^uint16(checksum(refPseudo(p[3], ipProtoTCP, len(p[3])-20), p[3][20:])))
			return p
		}, []int{3, 1, 1}},
		{"other ttl", func() [][]byte { p := base(); p[1][8] = 1; return p }, []int{1, 1, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bufs := withHeadroom(tc.pkts())
			var c coalescer
			groups := c.plan(bufs, testOffset)
			var counts []int
			seen := 0
			for _, g := range groups {
				counts = append(counts, g.count)
				seen += g.count
			}
			if fmt.Sprint(counts) != fmt.Sprint(tc.counts) {
				t.Fatalf("groups %v, want %v", counts, tc.counts)
			}
			if seen != len(bufs) {
				t.Fatalf("%d packets in groups, %d in the batch", seen, len(bufs))
			}
		})
	}
}

func TestCoalesceLimits(t *testing.T) {
	// 100 segments of 1000: 64 at most in one group, 64 KiB at most.
	bufs := withHeadroom(segments(false, 1, randomPayload(100*1000), 1000))
	var c coalescer
	for _, g := range c.plan(bufs, testOffset) {
		if g.count > maxGroupSegments || g.size > maxSuperPacket {
			t.Fatalf("group of %d packets, %d bytes", g.count, g.size)
		}
	}
	bufs = withHeadroom(segments(true, 1, randomPayload(200*400), 400))
	for _, g := range c.plan(bufs, testOffset) {
		if g.count > maxGroupSegments {
			t.Fatalf("group of %d packets", g.count)
		}
	}
}

func TestChecksumAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lengths := make([]int, 0, 310)
	for n := range 300 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 1379, 1380, 1420, 8999, 9000, 65535, 65536, 131071)
	for _, n := range lengths {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if n%7 == 0 {
			for i := range b {
				b[i] = 0xff // carries everywhere
			}
		}
		acc := uint64(r.Uint32())
		if n%5 == 0 {
			acc = ^uint64(0) - uint64(r.Uint32()%3) // end-around carry from acc
		}
		got := fold(sum64(b, acc))
		want := uint16(checksum(uint32(fold(acc)), b))
		if got != want && !(got == 0xffff && want == 0) && !(got == 0 && want == 0xffff) {
			t.Fatalf("len %d: sum %#04x, want %#04x", n, got, want)
		}
	}
}

func FuzzSplit(f *testing.F) {
	for _, v6 := range []bool{false, true} {
		for _, proto := range []byte{ipProtoTCP, ipProtoUDP} {
			pkt, h := superPacket(v6, proto, tcpACK|tcpPSH, randomPayload(3000), 1000)
			var hb [vnetHdrLen]byte
			h.encode(hb[:])
			f.Add(append(hb[:], pkt...))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < vnetHdrLen {
			return
		}
		var h vnetHdr
		h.decode(data)
		pkt := data[vnetHdrLen:]
		var s segmenter
		if err := s.reset(append([]byte(nil), pkt...), h); err != nil {
			if s.pending() {
				t.Fatal("pending after a failed reset")
			}
			return
		}
		bufs, sizes := segBufs(8, 1500)
		for s.pending() {
			n, err := s.fill(bufs, sizes, testOffset)
			if err != nil {
				return
			}
			for i := range n {
				seg := bufs[i][testOffset : testOffset+sizes[i]]
				if s.proto != 0 && !refL4Valid(seg, s.l4, s.proto) {
					t.Fatalf("segment with a wrong checksum: %x", seg)
				}
			}
		}
	})
}

func TestSplitNextSizeAndTruncate(t *testing.T) {
	pkt, h := superPacket(false, ipProtoTCP, tcpACK, randomPayload(2500), 1000)
	var s segmenter
	if err := s.reset(pkt, h); err != nil {
		t.Fatal(err)
	}
	hlen := int(h.hdrLen)
	for i, want := range []int{hlen + 1000, hlen + 1000, hlen + 500} {
		if got := s.nextSize(); got != want {
			t.Fatalf("segment %d: nextSize %d, want %d", i, got, want)
		}
		bufs, sizes := segBufs(1, 1500)
		if n, err := s.fill(bufs, sizes, testOffset); n != 1 || err != nil {
			t.Fatal(n, err)
		}
	}
	// A plain packet larger than the buffer: cut short, the rest dropped.
	big := tcpPacket(false, 1, 1, tcpACK, randomPayload(3000))
	if err := s.reset(big, vnetHdr{}); err != nil {
		t.Fatal(err)
	}
	if s.nextSize() != len(big) {
		t.Fatalf("nextSize %d, want %d", s.nextSize(), len(big))
	}
	out := make([]byte, 1000)
	if n := s.truncate(out); n != 1000 || !bytes.Equal(out, big[:1000]) || s.pending() {
		t.Fatalf("truncate = %d, pending %v", n, s.pending())
	}
}

// offloadTUN creates an offloading TUN with 10.99.0.1/24 in a fresh
// namespace and a UDP socket there to send into it.
func offloadTUN(t *testing.T, mtu int) (*linuxDevice, *net.UDPConn) {
	t.Helper()
	ns := newNetns(t)
	d := createIn(t, ns, "wrn0", mtu).(*linuxDevice)
	if !d.vnet || d.offloads&tunFCsum == 0 {
		t.Skip("kernel without virtio-net header offloads on TUN")
	}
	bringUp(t, d, ns)
	return d, socketIn(t, ns)
}

// readUDP reads from d until it gets UDP packets to 10.99.0.2, and returns them.
func readUDP(t *testing.T, d Device, bufs [][]byte) [][]byte {
	t.Helper()
	sizes := make([]int, len(bufs))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := d.Read(bufs, sizes, testOffset)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]byte
		for i := range n {
			p := bufs[i][testOffset : testOffset+sizes[i]]
			if len(p) >= 28 && p[0]>>4 == 4 && p[9] == ipProtoUDP && p[19] == 2 {
				out = append(out, p)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	t.Fatal("no UDP packet from the kernel")
	return nil
}

// TestReadUSOSuperPacket sends runs of datagrams with single UDP_SEGMENT
// sends: the kernel hands the TUN USO super-packets, which Read must split,
// the first after gathering it, the next where they were read.
func TestReadUSOSuperPacket(t *testing.T) {
	d, c := offloadTUN(t, 1420)
	if d.offloads&tunFUSO4 == 0 {
		t.Skip("kernel without USO on TUN")
	}
	rc, _ := c.SyscallConn()
	var serr error
	rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT, 1000) })
	if serr != nil {
		t.Skipf("UDP_SEGMENT: %v", serr)
	}
	bufs, _ := segBufs(d.BatchSize(), 1420)
	for run, size := range []int{10 * 1000, 10*1000 + 123, 3 * 1000, 40 * 1000} {
		payload := randomPayload(size)
		if _, err := c.WriteToUDPAddrPort(payload, netip.MustParseAddrPort("10.99.0.2:9")); err != nil {
			t.Fatal(err)
		}
		var got []byte
		segs := 0
		for len(got) < len(payload) {
			for _, p := range readUDP(t, d, bufs) {
				if !refIPv4Valid(p) || !refL4Valid(p, 20, ipProtoUDP) || (len(p) != 1028 && len(got)+len(p)-28 != size) {
					t.Fatalf("run %d segment %d: %d bytes, checksums ip %v udp %v", run, segs, len(p), refIPv4Valid(p), refL4Valid(p, 20, ipProtoUDP))
				}
				got = append(got, p[28:]...)
				segs++
			}
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("run %d: payload differs", run)
		}
	}
	if d.rv.supers.Load() == 0 {
		t.Error("the kernel handed over no super-packet")
	}
	if d.rv.inPlace.Load() == 0 {
		t.Error("no super-packet split in place")
	}
}

// TestReadIntoSmallBuffers: a packet larger than the caller's buffers (an
// MTU raised while a Read waited) is kept for the next Read instead of
// being lost; Read returns an empty packet meanwhile.
func TestReadIntoSmallBuffers(t *testing.T) {
	d, c := offloadTUN(t, 9000)
	payload := randomPayload(3000)
	if _, err := c.WriteToUDPAddrPort(payload, netip.MustParseAddrPort("10.99.0.2:9")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	small, sizes := segBufs(4, 1420)
	for {
		n, err := d.Read(small, sizes, testOffset)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 && sizes[0] == 0 {
			break // the jumbo packet is next
		}
	}
	big, _ := segBufs(4, 9000)
	p := readUDP(t, d, big)[0]
	if len(p) != 3028 || !bytes.Equal(p[28:], payload) || !refL4Valid(p, 20, ipProtoUDP) {
		t.Fatalf("packet of %d bytes, checksum valid %v", len(p), refL4Valid(p, 20, ipProtoUDP))
	}
}

// TestOffloadOptions runs packets both ways through a device without
// offloads, and through an inherited queue with virtio-net headers whose
// offloads are turned off.
func TestOffloadOptions(t *testing.T) {
	t.Run("NoOffload", func(t *testing.T) {
		ns := newNetns(t)
		var d Device
		var err error
		inNetns(t, ns, func() { d, err = CreateWithOptions("wrn0", 1420, Options{NoOffload: true}) })
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if ld := d.(*linuxDevice); ld.vnet {
			t.Fatal("virtio-net headers despite NoOffload")
		}
		bringUp(t, d, ns)
		exchangeUDP(t, d, ns)
	})
	t.Run("inherited vnet, NoOffload", func(t *testing.T) {
		ns := newNetns(t)
		f := openTUNFile(t, ns, "wrn0", unix.IFF_TUN|unix.IFF_NO_PI|unix.IFF_VNET_HDR)
		d, err := CreateFromFileWithOptions(f, 1420, Options{NoOffload: true})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if ld := d.(*linuxDevice); !ld.vnet || ld.offloads != 0 {
			t.Fatalf("vnet %v offloads %#x, want headers without offloads", ld.vnet, ld.offloads)
		}
		bringUp(t, d, ns)
		exchangeUDP(t, d, ns)
	})
}

// TestCoalesceKeepsBadChecksums: whatever the batch, what the kernel gets
// after coalescing — each super-packet completed and segmented again as
// GSO would, each single packet as it is — holds every segment with the
// checksum validity it came with: a corrupt segment stays corrupt, merged
// or not, and nothing valid is lost.
func TestCoalesceKeepsBadChecksums(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 200 {
		v6 := round%2 == 1
		l3 := 20
		if v6 {
			l3 = 40
		}
		mss := 500 + rng.IntN(900)
		orig := segments(v6, rng.Uint32(), randomPayload(mss*(2+rng.IntN(12))), mss)
		bad := map[int]bool{}
		for i := range orig {
			if rng.IntN(4) == 0 {
				orig[i][l3+20+12+rng.IntN(len(orig[i])-l3-32)] ^= byte(1 + rng.IntN(255))
				bad[i] = !refL4Valid(orig[i], l3, ipProtoTCP)
			}
		}
		bufs := withHeadroom(orig)
		var c coalescer
		var got [][]byte
		for _, g := range c.plan(bufs, testOffset) {
			super, h := superOf(&c, &g, bufs)
			if g.count == 1 {
				got = append(got, super)
				continue
			}
			// GSO segments the super-packet and computes each segment's
			// checksum from its bytes, as the segmenter does.
			var s segmenter
			if err := s.reset(super, h); err != nil {
				t.Fatal(err)
			}
			out, sizes := segBufs(g.count, 1500)
			n, err := s.fill(out, sizes, testOffset)
			if err != nil || n != g.count {
				t.Fatalf("round %d: split = %d, %v", round, n, err)
			}
			for i := range n {
				got = append(got, out[i][testOffset:testOffset+sizes[i]])
			}
		}
		if len(got) != len(orig) {
			t.Fatalf("round %d: %d segments out, %d in", round, len(got), len(orig))
		}
		for i := range orig {
			if valid := refL4Valid(got[i], l3, ipProtoTCP); valid == bad[i] {
				t.Fatalf("round %d: segment %d went in with a valid checksum %v and came out valid %v", round, i, !bad[i], valid)
			}
			if !bad[i] && !bytes.Equal(got[i], orig[i]) {
				t.Fatalf("round %d: valid segment %d changed", round, i)
			}
		}
	}
}
