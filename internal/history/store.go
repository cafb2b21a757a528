package history

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// formatVersion is the layout this package writes; see the package doc.
const formatVersion = 1

var (
	bucketMeta  = []byte("meta")
	bucketPeers = []byte("peers")
	keyVersion  = []byte("version")
	keyNextID   = []byte("nextid")
	tierPrefix  = []byte("tier/")
)

// Errors the store returns, for errors.Is.
var (
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("history store is closed")
	// ErrVersion: the file was written by an incompatible version.
	ErrVersion = errors.New("history database has an unknown format version")
	// ErrInvalidSample: a sample or query is malformed; nothing was applied.
	ErrInvalidSample = errors.New("invalid history sample")
)

// Options tune a Store. The zero value gives the defaults.
type Options struct {
	// Tiers are the resolutions kept; nil means DefaultTiers(). Tiers
	// missing from an existing file are created empty; tiers in the file
	// but not configured are deleted at Open.
	Tiers []Tier
	// Timeout bounds how long Open waits for another process that holds
	// the file; 0 means one second.
	Timeout time.Duration

	// noSync skips fsync, for tests and benchmarks that simulate months.
	noSync bool
}

// Store is a traffic history database. Its methods are safe for concurrent
// use; Record calls are serialized.
type Store struct {
	db    *bolt.DB
	tiers []Tier

	mu     sync.RWMutex
	closed bool
	peers  map[peerKey]*peerState
	byID   map[uint32]*peerState
	nextID uint32
	// pending holds the deltas of the samples in the current finest
	// bucket not yet written; pendingAt is the latest such sample (unix
	// seconds) and hasPending says there is something (deltas or peer
	// state) to write.
	pending    map[uint32]*entry
	pendingAt  int64
	hasPending bool
	// writtenAt is the latest time (unix seconds) written to the finest
	// tier, if hasWritten; a sample before its bucket means the clock
	// went back.
	writtenAt  int64
	hasWritten bool
}

// Open opens or creates the history database at path (mode 0600). Its
// work is bounded by the number of peers: it reads the peer table only.
func Open(path string, opts Options) (*Store, error) {
	tiers := opts.Tiers
	if tiers == nil {
		tiers = DefaultTiers()
	}
	if err := validateTiers(tiers); err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoSync: opts.noSync})
	if err != nil {
		return nil, fmt.Errorf("open history database %s: %w", path, err)
	}
	s := &Store{
		db:      db,
		tiers:   append([]Tier(nil), tiers...),
		peers:   map[peerKey]*peerState{},
		byID:    map[uint32]*peerState{},
		pending: map[uint32]*entry{},
		nextID:  1,
	}
	if err := db.Update(s.load); err != nil {
		db.Close()
		return nil, fmt.Errorf("open history database %s: %w", path, err)
	}
	return s, nil
}

// load creates the buckets, checks the version, drops unconfigured tiers
// and reads the peer table.
func (s *Store) load(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	switch v := meta.Get(keyVersion); {
	case v == nil:
		if err := meta.Put(keyVersion, []byte{formatVersion}); err != nil {
			return err
		}
	case len(v) != 1 || v[0] != formatVersion:
		return fmt.Errorf("%w: %x", ErrVersion, v)
	}
	if v := meta.Get(keyNextID); v != nil {
		if len(v) != 4 || binary.BigEndian.Uint32(v) == 0 {
			return fmt.Errorf("%w: next peer id %x", ErrCorrupt, v)
		}
		s.nextID = binary.BigEndian.Uint32(v)
	}
	want := map[string]bool{}
	for _, t := range s.tiers {
		want[string(t.bucketName())] = true
		if _, err := tx.CreateBucketIfNotExists(t.bucketName()); err != nil {
			return err
		}
	}
	var stale [][]byte
	err = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if bytes.HasPrefix(name, tierPrefix) && !want[string(name)] {
			stale = append(stale, bytes.Clone(name))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, name := range stale {
		if err := tx.DeleteBucket(name); err != nil {
			return err
		}
	}
	if k, _ := tx.Bucket(s.tiers[0].bucketName()).Cursor().Last(); k != nil {
		if len(k) != 8 {
			return fmt.Errorf("%w: bucket key %x", ErrCorrupt, k)
		}
		s.writtenAt, s.hasWritten = int64(binary.BigEndian.Uint64(k)), true
	}
	peers, err := tx.CreateBucketIfNotExists(bucketPeers)
	if err != nil {
		return err
	}
	return peers.ForEach(func(k, v []byte) error {
		if len(k) != 4 {
			return fmt.Errorf("%w: peer key %x", ErrCorrupt, k)
		}
		id := binary.BigEndian.Uint32(k)
		p, err := unmarshalPeer(id, v)
		if err != nil {
			return err
		}
		if id == 0 || id >= s.nextID || s.peers[p.key] != nil {
			return fmt.Errorf("%w: peer %d duplicated or beyond next id %d", ErrCorrupt, id, s.nextID)
		}
		s.peers[p.key] = p
		s.byID[id] = p
		return nil
	})
}

// Flush writes what the samples since the last write added. Record does
// this by itself whenever a sample opens a new bucket of the finest tier,
// so at most that bucket's samples are lost by a crash; the counters they
// saw are not, and the next sample after a restart counts their bytes.
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.flushLocked()
}

// Close flushes and closes the database. It is safe to call twice.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	ferr := s.flushLocked()
	cerr := s.db.Close()
	if cerr != nil {
		cerr = fmt.Errorf("close history database: %w", cerr)
	}
	return errors.Join(ferr, cerr)
}

// Size is the database file's size in bytes.
func (s *Store) Size() (int64, error) {
	fi, err := os.Stat(s.db.Path())
	if err != nil {
		return 0, fmt.Errorf("history database size: %w", err)
	}
	return fi.Size(), nil
}

// flushLocked writes the pending deltas into the current bucket of every
// tier and the changed peer states, in one transaction; on failure nothing
// is written and everything stays pending.
func (s *Store) flushLocked() error {
	if !s.hasPending {
		return nil
	}
	t := s.pendingAt
	entries := sortedEntries(s.pending)
	var dirty, gone []*peerState
	coarsest := s.tiers[len(s.tiers)-1]
	keepFrom := coarsest.slot(t) - int64(coarsest.Slots-1)*coarsest.seconds()
	for _, p := range s.byID {
		switch {
		case !p.known && p.lastSeen < keepFrom:
			// All its buckets have expired: forget the peer.
			gone = append(gone, p)
		case p.dirty:
			dirty = append(dirty, p)
		}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		peers := tx.Bucket(bucketPeers)
		for _, p := range dirty {
			if err := peers.Put(idKey(p.id), p.marshal()); err != nil {
				return err
			}
		}
		for _, p := range gone {
			if err := peers.Delete(idKey(p.id)); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketMeta).Put(keyNextID, idKey(s.nextID)); err != nil {
			return err
		}
		for _, tier := range s.tiers {
			if err := writeTier(tx.Bucket(tier.bucketName()), tier, t, entries); err != nil {
				return fmt.Errorf("tier %v: %w", tier.Resolution, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	for _, p := range dirty {
		p.dirty = false
	}
	for _, p := range gone {
		delete(s.peers, p.key)
		delete(s.byID, p.id)
	}
	clear(s.pending)
	s.hasPending = false
	s.writtenAt, s.hasWritten = t, true
	return nil
}

// foldLocked moves the traffic of every bucket after unix second t into
// t's bucket, in every tier: the clock went back to t.
func (s *Store) foldLocked(t int64) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, tier := range s.tiers {
			if err := writeTier(tx.Bucket(tier.bucketName()), tier, t, nil); err != nil {
				return fmt.Errorf("tier %v: %w", tier.Resolution, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	s.writtenAt = t
	return nil
}

// writeTier adds entries to the tier's bucket that holds unix second t.
// Buckets after it exist only if the clock went back: their traffic is
// folded into this bucket (so no byte is lost and nothing lies in the
// future). Buckets older than the tier's span are deleted. Both are
// bounded by the tier's slot count.
func writeTier(b *bolt.Bucket, tier Tier, t int64, entries []entry) error {
	slot := tier.slot(t)
	key := slotKey(slot)
	acc := entries
	c := b.Cursor()
	var remove [][]byte
	for k, v := c.Seek(slotKey(slot + 1)); k != nil; k, v = c.Next() {
		es, err := decodeRecord(v)
		if err != nil {
			return fmt.Errorf("bucket %x: %w", k, err)
		}
		acc = mergeEntries(acc, es)
		remove = append(remove, bytes.Clone(k))
	}
	if from := slot - int64(tier.Slots-1)*tier.seconds(); from > 0 {
		cutoff := slotKey(from)
		for k, _ := c.First(); k != nil && bytes.Compare(k, cutoff) < 0; k, _ = c.Next() {
			remove = append(remove, bytes.Clone(k))
		}
	}
	for _, k := range remove {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	if len(acc) == 0 {
		return nil
	}
	if old := b.Get(key); old != nil {
		es, err := decodeRecord(old)
		if err != nil {
			return fmt.Errorf("bucket %x: %w", key, err)
		}
		acc = mergeEntries(es, acc)
	}
	return b.Put(key, appendRecord(nil, acc))
}

// peersOf lists the states of the peers an interface has had.
func (s *Store) peersOf(iface string) map[uint32]*peerState {
	out := map[uint32]*peerState{}
	for id, p := range s.byID {
		if p.key.iface == iface {
			out[id] = p
		}
	}
	return out
}
