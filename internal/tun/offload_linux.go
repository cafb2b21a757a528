package tun

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Offloads with virtio-net headers (IFF_VNET_HDR). Every packet read from
// or written to the queue is preceded by a struct virtio_net_hdr. With
// TUNSETOFFLOAD the kernel may then hand over TCP (and UDP) super-packets of
// up to 64 KiB whose checksum is only partial, and accepts the same from us:
// Read splits them into MTU-sized packets (segmenter) and Write coalesces
// runs of TCP segments into them (coalescer), GRO-style. The engine then
// handles one packet per MTU as always, but the kernel's network stack and
// the read/write system calls work once per 64 KiB instead.

// vnetHdrLen is the size of struct virtio_net_hdr (without num_buffers,
// which TUN does not use unless TUNSETVNETHDRSZ asks for it).
const vnetHdrLen = 10

// virtio_net_hdr flags and GSO types (include/uapi/linux/virtio_net.h).
const (
	vnetFlagNeedsCsum = 1 // checksum from csumStart to the end, stored at csumStart+csumOffset
	vnetFlagDataValid = 2

	vnetGSONone  = 0
	vnetGSOTCPv4 = 1
	vnetGSOUDP   = 3 // UFO, IPv4 fragmentation: never negotiated
	vnetGSOTCPv6 = 4
	vnetGSOUDPL4 = 5 // USO: UDP segmentation, each segment a datagram
	vnetGSOECN   = 0x80
)

// TUNSETOFFLOAD flags (include/uapi/linux/if_tun.h).
const (
	tunFCsum = 0x01
	tunFTSO4 = 0x02
	tunFTSO6 = 0x04
	tunFUSO4 = 0x20
	tunFUSO6 = 0x40
)

// maxSuperPacket bounds a packet with offloads: the IP length fields are 16
// bits (gso_max_size is 64 KiB by default on TUN).
const maxSuperPacket = 1<<16 - 1

// vnetHdr is struct virtio_net_hdr, in host byte order (legacy virtio, as
// TUN uses it unless TUNSETVNETLE/BE say otherwise).
type vnetHdr struct {
	flags      uint8
	gsoType    uint8
	hdrLen     uint16
	gsoSize    uint16
	csumStart  uint16
	csumOffset uint16
}

func (h *vnetHdr) decode(b []byte) {
	_ = b[vnetHdrLen-1]
	h.flags = b[0]
	h.gsoType = b[1]
	h.hdrLen = binary.NativeEndian.Uint16(b[2:])
	h.gsoSize = binary.NativeEndian.Uint16(b[4:])
	h.csumStart = binary.NativeEndian.Uint16(b[6:])
	h.csumOffset = binary.NativeEndian.Uint16(b[8:])
}

func (h *vnetHdr) encode(b []byte) {
	_ = b[vnetHdrLen-1]
	b[0] = h.flags
	b[1] = h.gsoType
	binary.NativeEndian.PutUint16(b[2:], h.hdrLen)
	binary.NativeEndian.PutUint16(b[4:], h.gsoSize)
	binary.NativeEndian.PutUint16(b[6:], h.csumStart)
	binary.NativeEndian.PutUint16(b[8:], h.csumOffset)
}

// Errors of the segmenter: the packet is dropped, later ones are not.
var (
	errBadVnetPacket = errors.New("malformed packet with virtio-net header")
	errSegmentTooBig = errors.New("segment larger than the read buffer")
)

const (
	ipProtoTCP = 6
	ipProtoUDP = 17
)

// TCP flags (byte 13 of the header).
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
	tcpURG = 0x20
	tcpECE = 0x40
	tcpCWR = 0x80
)

// segmenter turns one packet read with a virtio-net header into the packets
// it stands for: a super-packet into segments, each with its own IP and
// TCP/UDP headers and full checksums, as the kernel's software GSO would;
// a packet with a partial checksum into one with a full one. It hands them
// out over one or more calls to fill, so that a super-packet with more
// segments than the caller has buffers is not lost.
type segmenter struct {
	pkt   []byte // the packet, without its virtio-net header (or only its headers: see resetHeaders)
	total int    // the packet's length
	hdr   vnetHdr
	v6    bool
	proto uint8  // ipProtoTCP or ipProtoUDP for segmentation, else 0
	l4    int    // offset of the TCP/UDP header
	hlen  int    // offset of the payload
	mss   int    // payload bytes per segment
	segs  int    // segments in all
	next  int    // the next segment to hand out; segs when done
	addrs uint64 // running sum of the addresses, for pseudo-headers
	id    uint16 // IPv4 ID of the first segment
	seq   uint32 // TCP sequence number of the first segment
}

// pending reports whether segments are left to hand out.
func (s *segmenter) pending() bool { return s.next < s.segs }

// drop forgets the packet.
func (s *segmenter) drop() { s.pkt, s.segs, s.next = nil, 0, 0 }

// reset takes pkt with its header h, checking that the offload it asks
// for can be done. The segmenter keeps pkt until the last segment is out.
func (s *segmenter) reset(pkt []byte, h vnetHdr) error {
	return s.resetHeaders(pkt, len(pkt), h)
}

// resetHeaders is reset for a packet of total bytes of which pkt holds at
// least the headers: enough for fixSegment, which is all an in-place split
// needs; segment and fill need the whole packet.
func (s *segmenter) resetHeaders(pkt []byte, total int, h vnetHdr) error {
	*s = segmenter{pkt: pkt, total: total, hdr: h, segs: 1}
	gso := h.gsoType &^ vnetGSOECN
	if gso == vnetGSONone {
		if h.flags&vnetFlagNeedsCsum != 0 {
			if int(h.csumStart)+int(h.csumOffset)+2 > len(pkt) {
				s.drop()
				return fmt.Errorf("%w: checksum at %d+%d in %d bytes", errBadVnetPacket, h.csumStart, h.csumOffset, total)
			}
		}
		return nil
	}
	if h.flags&vnetFlagNeedsCsum == 0 || h.gsoSize == 0 || total > maxSuperPacket || total < len(pkt) {
		s.drop()
		return fmt.Errorf("%w: GSO type %d, size %d, flags %#x, %d bytes", errBadVnetPacket, h.gsoType, h.gsoSize, h.flags, total)
	}
	if err := s.parse(gso); err != nil {
		s.drop()
		return fmt.Errorf("%w: GSO type %d: %s", errBadVnetPacket, h.gsoType, err)
	}
	s.mss = int(h.gsoSize)
	if payload := total - s.hlen; payload > s.mss {
		s.segs = (payload + s.mss - 1) / s.mss
	}
	return nil
}

// parse finds the headers of a super-packet and checks them against the
// offload asked for.
func (s *segmenter) parse(gso uint8) error {
	pkt := s.pkt
	if len(pkt) < 20 {
		return errors.New("short IP header")
	}
	s.l4 = int(s.hdr.csumStart)
	switch pkt[0] >> 4 {
	case 4:
		ihl := int(pkt[0]&0xf) * 4
		if ihl < 20 || s.l4 != ihl || int(binary.BigEndian.Uint16(pkt[2:])) != s.total {
			return errors.New("bad IPv4 header")
		}
		if gso == vnetGSOTCPv6 || binary.BigEndian.Uint16(pkt[6:])&0x3fff != 0 {
			return errors.New("IPv4 header for IPv6 or fragment")
		}
		s.proto = pkt[9]
		s.id = binary.BigEndian.Uint16(pkt[4:])
		s.addrs = pseudoSum(pkt[12:16], pkt[16:20])
	case 6:
		if len(pkt) < 40 || s.l4 < 40 || int(binary.BigEndian.Uint16(pkt[4:]))+40 != s.total {
			return errors.New("bad IPv6 header")
		}
		if gso == vnetGSOTCPv4 {
			return errors.New("IPv6 header for IPv4")
		}
		s.v6 = true
		s.proto = pkt[6]
		if s.l4 > 40 {
			// Extension headers: the offload type says what follows them.
			s.proto = ipProtoTCP
			if gso == vnetGSOUDPL4 {
				s.proto = ipProtoUDP
			}
		}
		s.addrs = pseudoSum(pkt[8:24], pkt[24:40])
	default:
		return errors.New("not IP")
	}
	switch gso {
	case vnetGSOTCPv4, vnetGSOTCPv6:
		if s.proto != ipProtoTCP || s.hdr.csumOffset != 16 || s.l4+20 > len(pkt) {
			return errors.New("not TCP")
		}
		doff := int(pkt[s.l4+12]>>4) * 4
		if doff < 20 || s.l4+doff > len(pkt) {
			return errors.New("bad TCP header length")
		}
		s.hlen = s.l4 + doff
		s.seq = binary.BigEndian.Uint32(pkt[s.l4+4:])
	case vnetGSOUDPL4:
		if s.proto != ipProtoUDP || s.hdr.csumOffset != 6 || s.l4+8 > len(pkt) {
			return errors.New("not UDP")
		}
		s.hlen = s.l4 + 8
	default:
		return errors.New("unsupported")
	}
	return nil
}

// nextSize is the length of the next segment to hand out.
func (s *segmenter) nextSize() int {
	if s.proto == 0 {
		return s.total
	}
	start := s.hlen + s.next*s.mss
	return s.hlen + min(start+s.mss, s.total) - start
}

// truncate hands out what fits of the next segment into out, as read(2)
// does with a short buffer, drops the rest of the packet, and returns the
// length handed out.
func (s *segmenter) truncate(out []byte) int {
	n := 0
	if s.proto == 0 {
		n = copy(out, s.pkt)
	} else {
		n = copy(out, s.pkt[:s.hlen])
		start := s.hlen + s.next*s.mss
		n += copy(out[n:], s.pkt[start:])
	}
	s.drop()
	return n
}

// fill hands out the next segments, the i-th into bufs[i][offset:] with
// its length in sizes[i], and returns how many. An error drops what is
// left of the packet.
func (s *segmenter) fill(bufs [][]byte, sizes []int, offset int) (int, error) {
	n := 0
	for ; s.next < s.segs && n < len(bufs) && n < len(sizes); n++ {
		out := bufs[n][offset:]
		size, err := s.segment(out, s.next)
		if err != nil {
			s.drop()
			return n, err
		}
		sizes[n] = size
		s.next++
	}
	return n, nil
}

// segment writes segment i into out and returns its length.
func (s *segmenter) segment(out []byte, i int) (int, error) {
	if s.proto == 0 {
		// One packet; at most its checksum to complete.
		if len(s.pkt) > len(out) {
			return 0, fmt.Errorf("%w: %d bytes into %d", errSegmentTooBig, len(s.pkt), len(out))
		}
		copy(out, s.pkt)
		if s.hdr.flags&vnetFlagNeedsCsum != 0 {
			completeChecksum(out[:len(s.pkt)], s.hdr)
		}
		return len(s.pkt), nil
	}
	start := s.hlen + i*s.mss
	end := min(start+s.mss, s.total)
	size := s.hlen + end - start
	if size > len(out) {
		return 0, fmt.Errorf("%w: %d bytes into %d", errSegmentTooBig, size, len(out))
	}
	copy(out, s.pkt[:s.hlen])
	copy(out[s.hlen:], s.pkt[start:end])
	s.fixSegment(out[:size], i)
	return size, nil
}

// segSize is the length of segment i.
func (s *segmenter) segSize(i int) int {
	start := s.hlen + i*s.mss
	return s.hlen + min(start+s.mss, s.total) - start
}

// fixSegment turns seg, holding the super-packet's headers and segment
// i's payload, into a packet: lengths, IPv4 ID and header checksum, TCP
// sequence number and flags, and the transport checksum.
func (s *segmenter) fixSegment(seg []byte, i int) {
	size := len(seg)
	if s.v6 {
		binary.BigEndian.PutUint16(seg[4:], uint16(size-40))
	} else {
		binary.BigEndian.PutUint16(seg[2:], uint16(size))
		binary.BigEndian.PutUint16(seg[4:], s.id+uint16(i))
		seg[10], seg[11] = 0, 0
		binary.BigEndian.PutUint16(seg[10:], csum(seg[:s.l4], 0))
	}
	l4 := seg[s.l4:]
	pseudo := s.addrs + uint64(s.proto) + uint64(len(l4))
	if s.proto == ipProtoTCP {
		binary.BigEndian.PutUint32(l4[4:], s.seq+uint32(i*s.mss))
		if i > 0 {
			l4[13] &^= tcpCWR // as the kernel: congestion window reduced once
		}
		if i < s.segs-1 {
			l4[13] &^= tcpFIN | tcpPSH
		}
		l4[16], l4[17] = 0, 0
		binary.BigEndian.PutUint16(l4[16:], csum(l4, pseudo))
		return
	}
	binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	l4[6], l4[7] = 0, 0
	c := csum(l4, pseudo)
	if c == 0 {
		c = 0xffff // zero means no checksum in UDP
	}
	binary.BigEndian.PutUint16(l4[6:], c)
}

// completeChecksum finishes a partial checksum: the field at
// csumStart+csumOffset holds the pseudo-header's sum, and the checksum of
// everything from csumStart on goes there.
func completeChecksum(pkt []byte, h vnetHdr) {
	at := int(h.csumStart) + int(h.csumOffset)
	c := csum(pkt[h.csumStart:], 0)
	if c == 0 && isUDPChecksum(pkt, h) {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(pkt[at:], c)
}

// isUDPChecksum reports whether the checksum h asks for is a UDP one, for
// which zero is sent as 0xffff.
func isUDPChecksum(pkt []byte, h vnetHdr) bool {
	if h.csumOffset != 6 {
		return false
	}
	switch pkt[0] >> 4 {
	case 4:
		return len(pkt) >= 20 && pkt[9] == ipProtoUDP
	case 6:
		return len(pkt) >= 40 && (pkt[6] == ipProtoUDP || h.csumStart > 40)
	}
	return false
}
