package history

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrCorrupt reports stored data the store cannot decode.
var ErrCorrupt = errors.New("history database is corrupt")

// entry is one peer's traffic in one bucket.
type entry struct {
	id     uint32
	rx, tx uint64
}

// appendRecord encodes entries, which must be sorted by id with no id
// twice and no id 0, as a record: per entry the id's distance from the
// previous id (from 0 for the first), rx and tx, each a uvarint.
func appendRecord(dst []byte, entries []entry) []byte {
	prev := uint32(0)
	for _, e := range entries {
		dst = binary.AppendUvarint(dst, uint64(e.id-prev))
		dst = binary.AppendUvarint(dst, e.rx)
		dst = binary.AppendUvarint(dst, e.tx)
		prev = e.id
	}
	return dst
}

// forEachEntry decodes rec, calling fn for each entry in id order until fn
// returns false. It fails with ErrCorrupt on a truncated record, an id out
// of order or beyond uint32.
func forEachEntry(rec []byte, fn func(entry) bool) error {
	prev := uint64(0)
	for off := 0; off < len(rec); {
		var vals [3]uint64
		for i := range vals {
			v, n := binary.Uvarint(rec[off:])
			if n <= 0 {
				return fmt.Errorf("%w: record truncated or malformed at byte %d", ErrCorrupt, off)
			}
			vals[i] = v
			off += n
		}
		if vals[0] == 0 || vals[0] > math.MaxUint32-prev {
			return fmt.Errorf("%w: peer id out of order at byte %d", ErrCorrupt, off)
		}
		prev += vals[0]
		if !fn(entry{id: uint32(prev), rx: vals[1], tx: vals[2]}) {
			return nil
		}
	}
	return nil
}

// decodeRecord returns the entries of rec.
func decodeRecord(rec []byte) ([]entry, error) {
	var out []entry
	err := forEachEntry(rec, func(e entry) bool { out = append(out, e); return true })
	return out, err
}

// mergeEntries adds b into a (both sorted by id) and returns the sum,
// sorted, without entries whose rx and tx are both zero. Sums saturate at
// the largest uint64 instead of wrapping.
func mergeEntries(a, b []entry) []entry {
	out := make([]entry, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var e entry
		switch {
		case j == len(b) || (i < len(a) && a[i].id < b[j].id):
			e = a[i]
			i++
		case i == len(a) || b[j].id < a[i].id:
			e = b[j]
			j++
		default:
			e = entry{id: a[i].id, rx: addSat(a[i].rx, b[j].rx), tx: addSat(a[i].tx, b[j].tx)}
			i++
			j++
		}
		if e.rx != 0 || e.tx != 0 {
			out = append(out, e)
		}
	}
	return out
}

// sortedEntries turns a map of deltas by peer id into sorted entries.
func sortedEntries(m map[uint32]*entry) []entry {
	out := make([]entry, 0, len(m))
	for _, e := range m {
		if e.rx != 0 || e.tx != 0 {
			out = append(out, *e)
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return cmp.Compare(a.id, b.id) })
	return out
}

func addSat(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}
