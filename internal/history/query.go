package history

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/warren-vpn/warren/internal/noise"
)

// Query asks for one peer's or one interface's traffic over a range.
type Query struct {
	// Interface names the interface.
	Interface string
	// Peer selects one peer of the interface; nil sums every peer the
	// interface has had in the range, removed ones included.
	Peer *noise.PublicKey
	// Last is how far back the series reaches (time.Hour, 24*time.Hour,
	// 30*24*time.Hour). The finest tier that spans it is used; a range
	// longer than every tier is cut to the coarsest tier's span.
	Last time.Duration
	// Now ends the series; the zero Time means time.Now().
	Now time.Time
}

// Series is the answer to a Query.
type Series struct {
	// Resolution is the width of each point.
	Resolution time.Duration
	// Points are the buckets from oldest to newest, one per Resolution,
	// the last being the one that holds Now; buckets without traffic are
	// zero.
	Points []Point
	// RxBytes and TxBytes are the totals over Points.
	RxBytes, TxBytes uint64
	// LatestHandshake is the peer's latest handshake as last sampled (zero
	// if none, and for interface queries).
	LatestHandshake time.Time
}

// Point is the traffic of one bucket: bytes received from and sent to the
// peer(s), and the same as rates in bytes per second over the bucket (over
// its elapsed part, for the bucket that holds Now).
type Point struct {
	Start            time.Time
	RxBytes, TxBytes uint64
	RxRate, TxRate   float64
}

// Query returns the series q asks for. A peer or interface the store has
// never seen has an all-zero series.
func (s *Store) Query(q Query) (*Series, error) {
	now := q.Now
	if now.IsZero() {
		now = time.Now()
	}
	switch {
	case q.Last <= 0:
		return nil, fmt.Errorf("%w: query range %v is not positive", ErrInvalidSample, q.Last)
	case now.Unix() < 0:
		return nil, fmt.Errorf("%w: query time %v is before 1970", ErrInvalidSample, now)
	}
	tier := tierFor(s.tiers, q.Last)
	n := int64((q.Last + tier.Resolution - 1) / tier.Resolution)
	n = min(n, int64(tier.Slots))
	step := tier.seconds()
	end := tier.slot(now.Unix())
	start := end - (n-1)*step
	series := &Series{Resolution: tier.Resolution, Points: make([]Point, n)}
	for i := range series.Points {
		series.Points[i].Start = time.Unix(start+int64(i)*step, 0)
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	var ids map[uint32]*peerState
	only := uint32(0) // the peer's id: records list ids in order, stop past it
	if q.Peer != nil {
		ids = map[uint32]*peerState{}
		if p := s.peers[peerKey{q.Interface, *q.Peer}]; p != nil {
			ids[p.id] = p
			only = p.id
			if p.handshake != 0 {
				series.LatestHandshake = time.Unix(0, p.handshake)
			}
		}
	} else {
		ids = s.peersOf(q.Interface)
	}
	if len(ids) == 0 {
		fillRates(series, now)
		return series, nil
	}
	add := func(slot int64, e entry) {
		if slot < start || slot > end || ids[e.id] == nil {
			return
		}
		p := &series.Points[(slot-start)/step]
		p.RxBytes, p.TxBytes = addSat(p.RxBytes, e.rx), addSat(p.TxBytes, e.tx)
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(tier.bucketName()).Cursor()
		last := slotKey(end)
		for k, v := c.Seek(slotKey(max(start, 0))); k != nil && bytes.Compare(k, last) <= 0; k, v = c.Next() {
			slot := int64(binary.BigEndian.Uint64(k))
			err := forEachEntry(v, func(e entry) bool {
				add(slot, e)
				return only == 0 || e.id < only
			})
			if err != nil {
				return fmt.Errorf("tier %v bucket %d: %w", tier.Resolution, slot, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("query history of %s: %w", q.Interface, err)
	}
	if s.hasPending {
		slot := tier.slot(s.pendingAt)
		for _, e := range s.pending {
			add(slot, *e)
		}
	}
	fillRates(series, now)
	return series, nil
}

// fillRates sets totals and per-point rates.
func fillRates(series *Series, now time.Time) {
	for i := range series.Points {
		p := &series.Points[i]
		series.RxBytes = addSat(series.RxBytes, p.RxBytes)
		series.TxBytes = addSat(series.TxBytes, p.TxBytes)
		d := series.Resolution
		if elapsed := now.Sub(p.Start); elapsed < d {
			d = max(elapsed, time.Second)
		}
		p.RxRate = float64(p.RxBytes) / d.Seconds()
		p.TxRate = float64(p.TxBytes) / d.Seconds()
	}
}
