package history

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/warren-vpn/warren/internal/noise"
)

func TestRecordRoundTrip(t *testing.T) {
	entries := []entry{{1, 0, 5}, {2, 1 << 40, 0}, {900, math.MaxUint64, math.MaxUint64}, {math.MaxUint32, 1, 1}}
	rec := appendRecord(nil, entries)
	got, err := decodeRecord(rec)
	if err != nil || !slices.Equal(got, entries) {
		t.Fatalf("decode: %v %v, want %v", got, err, entries)
	}
	for _, bad := range [][]byte{
		{0, 1, 1},                            // id 0
		{1, 1},                               // truncated
		{2, 1, 1, 0, 1, 1},                   // id repeated
		{0x80},                               // unterminated varint
		{0xff, 0xff, 0xff, 0xff, 0x1f, 0, 0}, // id beyond uint32
	} {
		if _, err := decodeRecord(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%x: %v, want ErrCorrupt", bad, err)
		}
	}
}

func TestMergeEntries(t *testing.T) {
	a := []entry{{1, 1, 1}, {3, 5, 0}, {7, 1, 2}}
	b := []entry{{2, 4, 4}, {3, 1, 1}, {7, math.MaxUint64, 0}, {9, 0, 0}}
	want := []entry{{1, 1, 1}, {2, 4, 4}, {3, 6, 1}, {7, math.MaxUint64, 2}}
	if got := mergeEntries(a, b); !slices.Equal(got, want) {
		t.Errorf("merge: %v, want %v", got, want)
	}
}

func TestPeerStateRoundTrip(t *testing.T) {
	p := &peerState{id: 7, key: peerKey{"wg0", noise.PublicKey{1, 2, 3}}, rx: 1 << 50, tx: 3, known: true, handshake: -5, lastSeen: 1 << 40}
	got, err := unmarshalPeer(7, p.marshal())
	if err != nil {
		t.Fatal(err)
	}
	if *got != *p {
		t.Errorf("round trip: %+v, want %+v", got, p)
	}
	b := p.marshal()
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(bytes.Clone(b), 0), {0}, {3, 'w', 'g'}} {
		if _, err := unmarshalPeer(7, bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%x: %v, want ErrCorrupt", bad, err)
		}
	}
}

// FuzzRecord: any input either decodes to entries that encode back to
// exactly the input, or fails with ErrCorrupt.
func FuzzRecord(f *testing.F) {
	f.Add(appendRecord(nil, []entry{{1, 2, 3}, {5, 0, 1 << 33}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, rec []byte) {
		es, err := decodeRecord(rec)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		for i := 1; i < len(es); i++ {
			if es[i].id <= es[i-1].id {
				t.Fatalf("ids out of order: %v", es)
			}
		}
		// Uvarints have more than one encoding (padding with 0x80); the
		// canonical one is never longer.
		if again := appendRecord(nil, es); len(again) > len(rec) {
			t.Fatalf("re-encoded %x as longer %x", rec, again)
		} else if es2, err := decodeRecord(again); err != nil || !slices.Equal(es, es2) {
			t.Fatalf("re-encoded %v as %x, decodes to %v %v", es, again, es2, err)
		}
	})
}

// FuzzPeerState: any input either decodes to a state that encodes back to
// the same state, or fails with ErrCorrupt.
func FuzzPeerState(f *testing.F) {
	f.Add((&peerState{key: peerKey{"wg0", noise.PublicKey{9}}, rx: 5, tx: 6, known: true, handshake: 1e18, lastSeen: 1e9}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := unmarshalPeer(1, b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		q, err := unmarshalPeer(1, p.marshal())
		if err != nil || *q != *p {
			t.Fatalf("round trip of %+v: %+v %v", p, q, err)
		}
	})
}
