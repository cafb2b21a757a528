package device

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// indexEntry is what a local index names: a pending initiation of peer
// (kp nil) or one of its sessions.
type indexEntry struct {
	peer *Peer
	kp   *keypair
}

// indexTable maps the random 32-bit local indices of §5.4 to handshakes and
// sessions.
type indexTable struct {
	mu   sync.RWMutex
	m    map[uint32]indexEntry
	rand io.Reader
}

func newIndexTable(rand io.Reader) *indexTable {
	return &indexTable{m: make(map[uint32]indexEntry), rand: rand}
}

// newIndex reserves a fresh random index for a handshake of p.
func (t *indexTable) newIndex(p *Peer) (uint32, error) {
	var b [4]byte
	for {
		if _, err := io.ReadFull(t.rand, b[:]); err != nil {
			return 0, fmt.Errorf("draw index: %w", err)
		}
		idx := binary.LittleEndian.Uint32(b[:])
		if idx == 0 {
			continue
		}
		t.mu.Lock()
		if _, used := t.m[idx]; !used {
			t.m[idx] = indexEntry{peer: p}
			t.mu.Unlock()
			return idx, nil
		}
		t.mu.Unlock()
	}
}

// setKeypair makes idx name kp (it keeps naming kp.peer).
func (t *indexTable) setKeypair(idx uint32, kp *keypair) {
	t.mu.Lock()
	t.m[idx] = indexEntry{peer: kp.peer, kp: kp}
	t.mu.Unlock()
}

func (t *indexTable) lookup(idx uint32) (indexEntry, bool) {
	t.mu.RLock()
	e, ok := t.m[idx]
	t.mu.RUnlock()
	return e, ok
}

// remove frees idx.
func (t *indexTable) remove(idx uint32) {
	t.mu.Lock()
	delete(t.m, idx)
	t.mu.Unlock()
}

func (t *indexTable) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}

// lockedReader serializes reads from a source that may not be safe for
// concurrent use.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(b)
}
