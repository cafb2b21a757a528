package history

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

// benchSampler makes samples of n peers on one interface whose counters
// grow by a different amount each time.
type benchSampler struct {
	peers []wgtypes.Peer
	step  uint64
}

func newBenchSampler(n int) *benchSampler {
	b := &benchSampler{peers: make([]wgtypes.Peer, n)}
	for i := range b.peers {
		b.peers[i] = peer(i+1, 0, 0, 1)
	}
	return b
}

func (b *benchSampler) next() map[string]*wgtypes.Device {
	b.step++
	for i := range b.peers {
		p := &b.peers[i]
		p.RxBytes += 1000 + (b.step*uint64(i))%50_000
		p.TxBytes += 200 + (b.step+uint64(i))%5_000
	}
	return map[string]*wgtypes.Device{"wg0": {Peers: b.peers}}
}

// BenchmarkRecord1000Peers: one sample of 1,000 peers every 10 s, each
// sample opening a new finest bucket and so writing (fsync included) the
// previous one. Reports peer samples per second.
func BenchmarkRecord1000Peers(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := map[bool]string{true: "fsync", false: "nosync"}[sync]
		b.Run(name, func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "h.db"), Options{noSync: !sync})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			src := newBenchSampler(1000)
			at := t0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.Record(at, src.next()); err != nil {
					b.Fatal(err)
				}
				at = at.Add(10 * time.Second)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "peer-samples/s")
		})
	}
}

// BenchmarkRecordFrequent: samples every second, as a live view takes them;
// nine in ten only update memory.
func BenchmarkRecordFrequent(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "h.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	src := newBenchSampler(1000)
	at := t0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Record(at, src.next()); err != nil {
			b.Fatal(err)
		}
		at = at.Add(time.Second)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "peer-samples/s")
}

// BenchmarkMonth1000Peers simulates 30 days of 1,000 busy peers (a sample
// every 10 min, every minute in the last day, every 10 s in the last hour,
// which fills every bucket of every tier) and reports the file's size. Run
// it with -benchtime=1x; it takes minutes.
func BenchmarkMonth1000Peers(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s, err := Open(filepath.Join(b.TempDir(), "h.db"), Options{noSync: true})
		if err != nil {
			b.Fatal(err)
		}
		src := newBenchSampler(1000)
		end := t0.Add(30 * 24 * time.Hour)
		at := t0
		for _, phase := range []struct {
			until time.Time
			step  time.Duration
		}{{end.Add(-24 * time.Hour), 10 * time.Minute}, {end.Add(-time.Hour), time.Minute}, {end.Add(time.Second), 10 * time.Second}} {
			for ; at.Before(phase.until); at = at.Add(phase.step) {
				if err := s.Record(at, src.next()); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
		size, err := s.Size()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(size)/(1<<20), "MiB")
		start := time.Now()
		for _, last := range []time.Duration{time.Hour, 24 * time.Hour, 30 * 24 * time.Hour} {
			if _, err := s.Query(Query{Interface: "wg0", Last: last, Now: end}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds())/3, "ms/interface-query")
		start = time.Now()
		for i := 1; i <= 1000; i += 111 {
			k := key(i)
			if _, err := s.Query(Query{Interface: "wg0", Peer: &k, Last: 24 * time.Hour, Now: end}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds())/10, "ms/peer-day-query")
		s.Close()
	}
}
