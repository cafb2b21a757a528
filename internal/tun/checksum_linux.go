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
func sum64(b []byte, acc uint64) uint64 {
	var c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	acc, c = bits.Add64(acc, c, 0)
	if len(b) >= 4 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		acc, c = bits.Add64(acc, uint64(b[0])<<8, c)
	}
	acc, _ = bits.Add64(acc, c, 0) // cannot carry again: acc was at most 2^64-2
	return acc
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
