package history

import (
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

type (
	boltTx     = bolt.Tx
	boltBucket = bolt.Bucket
)

// t0 is where simulated time starts.
var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func key(i int) noise.PublicKey { return noise.PublicKey{0: byte(i), 1: byte(i >> 8), 31: 0x55} }

// peer is a sampled peer with counters and a handshake at hs seconds
// after t0 (0 for none).
func peer(i int, rx, tx uint64, hs int) wgtypes.Peer {
	p := wgtypes.Peer{PublicKey: key(i), RxBytes: rx, TxBytes: tx}
	if hs != 0 {
		p.LastHandshakeTime = t0.Add(time.Duration(hs) * time.Second)
	}
	return p
}

func dev(peers ...wgtypes.Peer) *wgtypes.Device { return &wgtypes.Device{Peers: peers} }

// openTest opens a store in dir (a new temporary one if empty).
func openTest(t testing.TB, dir string, tiers []Tier) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := Open(filepath.Join(dir, "history.db"), Options{Tiers: tiers, noSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func record(t testing.TB, s *Store, at time.Time, devs map[string]*wgtypes.Device) {
	t.Helper()
	if err := s.Record(at, devs); err != nil {
		t.Fatalf("Record at %v: %v", at.Sub(t0), err)
	}
}

func query(t testing.TB, s *Store, q Query) *Series {
	t.Helper()
	r, err := s.Query(q)
	if err != nil {
		t.Fatalf("Query %+v: %v", q, err)
	}
	return r
}

// keysIn counts the buckets stored in a tier.
func keysIn(t testing.TB, s *Store, tier Tier) int {
	t.Helper()
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(tier.bucketName()).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// crash drops what is pending and closes the file, as a killed process
// would leave it.
func crash(t testing.TB, s *Store) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if err := s.db.Close(); err != nil {
		t.Fatal(err)
	}
}
