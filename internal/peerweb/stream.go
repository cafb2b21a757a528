package peerweb

// Stream is a deterministic byte stream (xorshift64): every Stream yields
// the same bytes, however its reads are sized, so that a client can hash
// what the server sent by hashing its own copy.
type Stream struct{ x, pos uint64 }

// NewStream returns a Stream at its first byte.
func NewStream() *Stream { return &Stream{x: 0x9e3779b97f4a7c15} }

// Read fills p with the next len(p) bytes; it never fails.
func (s *Stream) Read(p []byte) (int, error) {
	for i := range p {
		if s.pos%8 == 0 {
			s.x ^= s.x << 13
			s.x ^= s.x >> 7
			s.x ^= s.x << 17
		}
		p[i] = byte(s.x >> (8 * (s.pos % 8)))
		s.pos++
	}
	return len(p), nil
}
