package tun

import (
	"encoding/binary"
	"math/bits"
)

// The Internet checksum (RFC 1071) as the offload code needs it: sums are
// carried in a uint64 and folded to 16 bits only at the end. Adding
// big-endian 64-bit words with end-around carry gives a sum congruent,
// modulo 0xffff, to the sum of the 16-bit words, because 2^16 ≡ 1.

// sum64 adds the bytes of b, as big-endian 16-bit words (an odd last byte
// padded with zero), to the running sum acc.
//
// The words are summed as little-endian 32-bit words into four
// independent 64-bit accumulators: no carry chain ties one addition to the
// next, and no accumulator can overflow before 2^32 words. A 32-bit word is
// congruent to the sum of its 16-bit halves, and a one's-complement sum of
// byte-swapped words is the byte-swapped sum (RFC 1071, 2.B), so the
// folded result only needs swapping back.
func sum64(b []byte, acc uint64) uint64 {
	var s0, s1, s2, s3 uint64
	for len(b) >= 32 {
		s0 += uint64(binary.LittleEndian.Uint32(b))
		s1 += uint64(binary.LittleEndian.Uint32(b[4:]))
		s2 += uint64(binary.LittleEndian.Uint32(b[8:]))
		s3 += uint64(binary.LittleEndian.Uint32(b[12:]))
		s0 += uint64(binary.LittleEndian.Uint32(b[16:]))
		s1 += uint64(binary.LittleEndian.Uint32(b[20:]))
		s2 += uint64(binary.LittleEndian.Uint32(b[24:]))
		s3 += uint64(binary.LittleEndian.Uint32(b[28:]))
		b = b[32:]
	}
	for len(b) >= 4 {
		s0 += uint64(binary.LittleEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s1 += uint64(binary.LittleEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s2 += uint64(b[0]) // the high byte of its big-endian word
	}
	le := fold(s0 + s1 + s2 + s3) // each below 2^62 for any slice
	sum, c := bits.Add64(acc, uint64(bits.ReverseBytes16(le)), 0)
	return sum + c // end-around carry; cannot carry again
}

// fold reduces a running sum to the 16-bit one's-complement sum.
func fold(acc uint64) uint16 {
	acc = acc>>32 + acc&0xffffffff // at most 2^33
	acc = acc>>16 + acc&0xffff     // at most 2^17+
	acc = acc>>16 + acc&0xffff
	acc = acc>>16 + acc&0xffff
	return uint16(acc)
}

// csum is the Internet checksum of b on top of acc: the value to store
// in a header whose checksum field was zero while summing.
func csum(b []byte, acc uint64) uint16 { return ^fold(sum64(b, acc)) }

// pseudoSum is the running sum of the addresses of an IPv4 or IPv6 header
// (src and dst are 4 or 16 bytes each), the start of a TCP or UDP
// pseudo-header; the protocol and length are added per packet.
func pseudoSum(src, dst []byte) uint64 {
	return sum64(dst, sum64(src, 0))
}
