package ringlog

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"time"
)

// The file's geometry and limits.
const (
	// SlotSize is the size of the header and of each line's slot.
	SlotSize = 512
	// DefaultLines is the number of lines a file holds unless Options say
	// otherwise (a file of 1 MiB and one slot).
	DefaultLines = 2048
	// MaxLines bounds the lines a file may hold (32 MiB).
	MaxLines = 1 << 16
	// MaxTag is the longest tag kept; longer tags are cut.
	MaxTag = 16
	// recordHeader is the fixed part of a slot before the tag and text.
	recordHeader = 24
	// MaxText is the most text a line keeps with an empty tag; a longer
	// line is cut and ends in "...".
	MaxText = SlotSize - recordHeader
)

// Version is the file format's version.
const Version = 1

var magic = [8]byte{'w', 'a', 'r', 'r', 'e', 'n', 'L', 'G'}

// Header layout (little endian), in the first slot:
//
//	0  magic    [8]byte
//	8  version  uint32
//	12 slotSize uint32
//	16 lines    uint32
//	20 reserved uint32 (zero)
//	24 next     uint64  sequence number of the next line to write
//	32 id       uint64  chosen when the file was initialised
const (
	offNext    = 24
	offID      = 32
	headerUsed = 40
)

// Record layout (little endian), in each line's slot:
//
//	0  crc     uint32  CRC-32C of bytes 4 to the end of the text
//	4  seq     uint64
//	12 time    int64   Unix nanoseconds
//	20 tagLen  uint8
//	21 flags   uint8   (zero)
//	22 textLen uint16
//	24 tag, then text
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrNotRingLog: the file is not a ring log this version reads (wrong
// magic, version or geometry, or a size that does not match its header).
var ErrNotRingLog = errors.New("not a warren ring log")

// header is a file's decoded header.
type header struct {
	lines uint64
	next  uint64
	id    uint64
}

// decodeHeader checks the header at the start of data against size, the
// file's size.
func decodeHeader(data []byte, size int64) (header, error) {
	if len(data) < headerUsed {
		return header{}, fmt.Errorf("%w: %d bytes, shorter than a header", ErrNotRingLog, len(data))
	}
	if [8]byte(data[:8]) != magic {
		return header{}, fmt.Errorf("%w: bad magic", ErrNotRingLog)
	}
	le := binary.LittleEndian
	if v := le.Uint32(data[8:]); v != Version {
		return header{}, fmt.Errorf("%w: version %d, want %d", ErrNotRingLog, v, Version)
	}
	if s := le.Uint32(data[12:]); s != SlotSize {
		return header{}, fmt.Errorf("%w: slot size %d, want %d", ErrNotRingLog, s, SlotSize)
	}
	lines := uint64(le.Uint32(data[16:]))
	if lines == 0 || lines > MaxLines {
		return header{}, fmt.Errorf("%w: %d lines, want 1 to %d", ErrNotRingLog, lines, MaxLines)
	}
	if want := fileSize(lines); size != want {
		return header{}, fmt.Errorf("%w: %d bytes, want %d for %d lines", ErrNotRingLog, size, want, lines)
	}
	return header{lines: lines, next: le.Uint64(data[offNext:]), id: le.Uint64(data[offID:])}, nil
}

// encodeHeader fills slot (SlotSize bytes) with h.
func encodeHeader(slot []byte, h header) {
	clear(slot)
	le := binary.LittleEndian
	copy(slot, magic[:])
	le.PutUint32(slot[8:], Version)
	le.PutUint32(slot[12:], SlotSize)
	le.PutUint32(slot[16:], uint32(h.lines))
	le.PutUint64(slot[offNext:], h.next)
	le.PutUint64(slot[offID:], h.id)
}

func fileSize(lines uint64) int64 { return int64(lines+1) * SlotSize }

func slotOffset(seq, lines uint64) int64 { return int64(seq%lines+1) * SlotSize }

// encodeRecord fills slot (SlotSize bytes) with a line; tag and text must
// already fit (see clip).
func encodeRecord(slot []byte, seq uint64, t int64, tag, text string) {
	clear(slot)
	le := binary.LittleEndian
	le.PutUint64(slot[4:], seq)
	le.PutUint64(slot[12:], uint64(t))
	slot[20] = byte(len(tag))
	le.PutUint16(slot[22:], uint16(len(text)))
	n := copy(slot[recordHeader:], tag)
	n += copy(slot[recordHeader+n:], text)
	le.PutUint32(slot[0:], crc32.Checksum(slot[4:recordHeader+n], castagnoli))
}

// decodeRecord returns the line in slot number index (counting from zero
// after the header) of a file of lines slots, or false if the slot is
// empty, torn, corrupt or misplaced.
func decodeRecord(slot []byte, index, lines uint64) (Line, bool) {
	le := binary.LittleEndian
	tagLen, textLen := int(slot[20]), int(le.Uint16(slot[22:]))
	end := recordHeader + tagLen + textLen
	if tagLen > MaxTag || textLen == 0 || end > SlotSize || slot[21] != 0 {
		return Line{}, false
	}
	if le.Uint32(slot[0:]) != crc32.Checksum(slot[4:end], castagnoli) {
		return Line{}, false
	}
	seq := le.Uint64(slot[4:])
	if seq%lines != index {
		return Line{}, false
	}
	return Line{
		Seq:  seq,
		Time: time.Unix(0, int64(le.Uint64(slot[12:]))),
		Tag:  string(slot[recordHeader : recordHeader+tagLen]),
		Text: string(slot[recordHeader+tagLen : end]),
	}, true
}

// records returns the valid lines of data, a whole file with header h,
// whose sequence numbers are in [from, to), in sequence order.
func records(data []byte, h header, from, to uint64) []Line {
	var out []Line
	for i := range h.lines {
		off := (i + 1) * SlotSize
		l, ok := decodeRecord(data[off:off+SlotSize], i, h.lines)
		if ok && l.Seq >= from && l.Seq < to {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b Line) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// Parse returns the lines of data, the contents of a ring log file, in
// the order they were written. Torn, corrupt and misplaced slots are
// skipped; a file that is not a ring log fails with ErrNotRingLog. It
// includes lines past the header's next number (written by a process that
// died before it advanced the header).
func Parse(data []byte) ([]Line, error) {
	h, err := decodeHeader(data, int64(len(data)))
	if err != nil {
		return nil, err
	}
	return records(data, h, 0, ^uint64(0)), nil
}
