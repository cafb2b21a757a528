package uapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Bounds on one request, against hostile or broken clients. They are far
// above anything wg(8) sends for a real configuration: a device of
// DefaultMaxPeers peers, each with several allowed IPs, fits.
const (
	// MaxLineLength is the longest line accepted, newline included.
	MaxLineLength = 4096
	// MaxLines is the most lines one set request or get answer may have.
	MaxLines = 1 << 25
	// DefaultMaxPeers is the most peers (public_key lines) in one request
	// or answer unless the Handler says otherwise (PeerLimiter). It is the
	// engine's default peer limit.
	DefaultMaxPeers = 1 << 20
	// MaxAllowedIPs is the most allowed_ip lines in one request or answer.
	MaxAllowedIPs = 1 << 23
)

// PeerLimiter is implemented by a Handler whose device holds at most
// MaxPeers peers. The server then refuses, while parsing, a set request
// naming more peers than that, before it is built whole in memory; the
// Handler's Apply still enforces its limit, counting the peers it has.
type PeerLimiter interface {
	MaxPeers() int
}

// maxPeersOf returns h's peer limit, or DefaultMaxPeers.
func maxPeersOf(h any) int {
	if l, ok := h.(PeerLimiter); ok && l.MaxPeers() > 0 {
		return l.MaxPeers()
	}
	return DefaultMaxPeers
}

// errLineTooLong is wrapped when a line exceeds MaxLineLength.
var errLineTooLong = errors.New("line too long")

// lineReader reads newline-terminated lines with a length bound.
type lineReader struct {
	r *bufio.Reader
	n int // lines read
}

func newLineReader(r io.Reader) *lineReader {
	if br, ok := r.(*bufio.Reader); ok {
		return &lineReader{r: br}
	}
	return &lineReader{r: bufio.NewReaderSize(r, MaxLineLength)}
}

// next returns the next line without its "\n". A last line without "\n"
// is returned as a line; then io.EOF marks the end of the stream. A line
// longer than MaxLineLength is an error wrapping errLineTooLong and leaves
// the reader inside that line.
func (lr *lineReader) next() (string, error) {
	var buf []byte
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxLineLength {
			return "", fmt.Errorf("%w (more than %d bytes)", errLineTooLong, MaxLineLength)
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			lr.n++
			return string(buf[:len(buf)-1]), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(buf) == 0 {
				return "", io.EOF
			}
			lr.n++
			return string(buf), nil
		default:
			return "", err
		}
	}
}
