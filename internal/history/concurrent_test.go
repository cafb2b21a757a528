package history

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

// Readers querying while a writer records see totals that only grow and
// end at the writer's.
func TestConcurrentWriterReaders(t *testing.T) {
	s := openTest(t, "", nil)
	const peers, samples, perSample = 50, 400, 10
	var done atomic.Bool
	var wg sync.WaitGroup
	end := sec(samples * 5)
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lastIf, lastPeer uint64
			k := key(1 + r)
			for n := 0; !done.Load() || n == 0; n++ {
				// The peer first: the interface's total, read after, holds
				// at least the peer's.
				q := Query{Interface: "wg0", Peer: &k, Last: 24 * time.Hour, Now: end}
				b, err := s.Query(q)
				if err != nil {
					errs <- err
					return
				}
				q.Peer = nil
				a, err := s.Query(q)
				if err != nil {
					errs <- err
					return
				}
				if a.RxBytes < lastIf || b.RxBytes < lastPeer || b.RxBytes > a.RxBytes {
					t.Errorf("reader %d: totals went from %d, %d to %d, %d", r, lastIf, lastPeer, a.RxBytes, b.RxBytes)
					return
				}
				lastIf, lastPeer = a.RxBytes, b.RxBytes
			}
		}()
	}
	counters := make([]uint64, peers)
	for n := range samples {
		ps := make([]wgtypes.Peer, peers)
		for i := range ps {
			counters[i] += perSample
			ps[i] = peer(i+1, counters[i], 0, 1)
		}
		if err := s.Record(sec(n*5), map[string]*wgtypes.Device{"wg0": dev(ps...)}); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r := query(t, s, Query{Interface: "wg0", Last: 24 * time.Hour, Now: end})
	if want := uint64(peers * (samples - 1) * perSample); r.RxBytes != want {
		t.Errorf("final total %d, want %d", r.RxBytes, want)
	}
}
