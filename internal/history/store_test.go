package history

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

func sec(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

func peerTotal(t *testing.T, s *Store, iface string, i int, last time.Duration, now time.Time) (rx, tx uint64) {
	t.Helper()
	k := key(i)
	r := query(t, s, Query{Interface: iface, Peer: &k, Last: last, Now: now})
	return r.RxBytes, r.TxBytes
}

// The counters before a restart of the store, flushed by Close or lost
// with a crash, are all counted after it.
func TestRestartKeepsHistory(t *testing.T) {
	for _, clean := range []bool{true, false} {
		name := map[bool]string{true: "close", false: "crash"}[clean]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, dir, nil)
			record(t, s, sec(0), map[string]*wgtypes.Device{"wg0": dev(peer(1, 1000, 100, 0))})
			record(t, s, sec(10), map[string]*wgtypes.Device{"wg0": dev(peer(1, 2000, 300, 5))})
			record(t, s, sec(20), map[string]*wgtypes.Device{"wg0": dev(peer(1, 3500, 600, 5))})
			if clean {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				crash(t, s)
			}
			s = openTest(t, dir, nil)
			wantRx, wantTx := uint64(2500), uint64(500)
			if !clean {
				wantRx, wantTx = 1000, 200 // the sample at 20 s was not written
			}
			if rx, tx := peerTotal(t, s, "wg0", 1, time.Hour, sec(25)); rx != wantRx || tx != wantTx {
				t.Errorf("after reopening: rx %d tx %d, want %d %d", rx, tx, wantRx, wantTx)
			}
			record(t, s, sec(30), map[string]*wgtypes.Device{"wg0": dev(peer(1, 4000, 650, 5))})
			for _, last := range []time.Duration{time.Hour, 24 * time.Hour, 30 * 24 * time.Hour, 365 * 24 * time.Hour} {
				if rx, tx := peerTotal(t, s, "wg0", 1, last, sec(35)); rx != 3000 || tx != 550 {
					t.Errorf("last %v after the next sample: rx %d tx %d, want 3000 550", last, rx, tx)
				}
			}
			k := key(1)
			if r := query(t, s, Query{Interface: "wg0", Peer: &k, Last: time.Hour, Now: sec(35)}); !r.LatestHandshake.Equal(sec(5)) {
				t.Errorf("latest handshake %v, want %v", r.LatestHandshake, sec(5))
			}
		})
	}
}

// A tunnel restart drops the counters: the history shows the bytes before
// it and the new ones, no negative (huge) bucket.
func TestCounterReset(t *testing.T) {
	s := openTest(t, "", nil)
	steps := []struct {
		at     int
		rx, tx uint64
		hs     int
		wantRx uint64 // traffic of this interval
	}{
		{0, 100, 10, 1, 0}, // baseline
		{10, 1100, 20, 1, 1000},
		{20, 5100, 30, 15, 4000},
		{30, 300, 5, 25, 300},             // restarted: counters dropped
		{40, 800, 6, 25, 500},             //
		{50, 900, 7, 0, 900},              // restarted again: handshake back to none, counters above the old ones
		{60, 900, 7, 0, 0},                //
		{70, 0, 0, 0, 0},                  // restarted with no traffic yet
		{80, 70, 1, 75, 70},               //
		{90, 70, 1, 75, 0},                //
		{100, 1 << 40, 9, 95, 1<<40 - 70}, // large counters are fine
	}
	total := uint64(0)
	for _, st := range steps {
		record(t, s, sec(st.at), map[string]*wgtypes.Device{"wg0": dev(peer(1, st.rx, st.tx, st.hs))})
		total += st.wantRx
	}
	k := key(1)
	r := query(t, s, Query{Interface: "wg0", Peer: &k, Last: time.Hour, Now: sec(105)})
	if r.RxBytes != total {
		t.Errorf("total rx %d, want %d", r.RxBytes, total)
	}
	byStart := map[int64]uint64{}
	for _, p := range r.Points {
		byStart[p.Start.Unix()] = p.RxBytes
	}
	for _, st := range steps {
		if got := byStart[sec(st.at).Unix()]; got != st.wantRx {
			t.Errorf("bucket at %d s: rx %d, want %d", st.at, got, st.wantRx)
		}
	}
}

// A peer removed and added again, and an interface that went down and came
// back, count their new counters from zero; an interface that could not be
// read keeps its peers' counters.
func TestPeersComeAndGo(t *testing.T) {
	s := openTest(t, "", nil)
	devs := func(m map[string]*wgtypes.Device) map[string]*wgtypes.Device { return m }
	record(t, s, sec(0), devs(map[string]*wgtypes.Device{"wg0": dev(peer(1, 10, 10, 0), peer(2, 10, 10, 0)), "wg1": dev(peer(1, 0, 0, 0))}))
	record(t, s, sec(10), devs(map[string]*wgtypes.Device{"wg0": dev(peer(1, 110, 10, 1), peer(2, 20, 10, 1)), "wg1": dev(peer(1, 7, 0, 1))}))
	// Peer 2 removed from wg0; wg1 unreadable.
	record(t, s, sec(20), devs(map[string]*wgtypes.Device{"wg0": dev(peer(1, 210, 10, 1)), "wg1": nil}))
	// Peer 2 back with new counters that happen to exceed the old ones;
	// wg1 readable again, counters grown.
	record(t, s, sec(30), devs(map[string]*wgtypes.Device{"wg0": dev(peer(1, 310, 10, 1), peer(2, 50, 0, 25)), "wg1": dev(peer(1, 9, 0, 1))}))
	// wg1 gone (down) ...
	record(t, s, sec(40), devs(map[string]*wgtypes.Device{"wg0": dev(peer(1, 410, 10, 1), peer(2, 60, 0, 25))}))
	// ... and up again, its counters bigger than before.
	record(t, s, sec(50), devs(map[string]*wgtypes.Device{"wg0": dev(peer(1, 410, 10, 1), peer(2, 60, 0, 25)), "wg1": dev(peer(1, 30, 3, 45))}))

	for _, c := range []struct {
		iface  string
		i      int
		rx, tx uint64
	}{
		{"wg0", 1, 400, 0},
		{"wg0", 2, 10 + 50 + 10, 0},
		{"wg1", 1, 7 + 2 + 30, 3},
	} {
		if rx, tx := peerTotal(t, s, c.iface, c.i, time.Hour, sec(55)); rx != c.rx || tx != c.tx {
			t.Errorf("%s peer %d: rx %d tx %d, want %d %d", c.iface, c.i, rx, tx, c.rx, c.tx)
		}
	}
	r := query(t, s, Query{Interface: "wg0", Last: time.Hour, Now: sec(55)})
	if r.RxBytes != 470 {
		t.Errorf("wg0 total rx %d, want 470", r.RxBytes)
	}
	if r := query(t, s, Query{Interface: "nope", Last: time.Hour, Now: sec(55)}); r.RxBytes != 0 || len(r.Points) != 360 {
		t.Errorf("unknown interface: %d bytes, %d points", r.RxBytes, len(r.Points))
	}
}

// A peer first seen with large counters (the manager started next to a
// tunnel that had been up for long) sets a baseline and adds no spike.
func TestFirstSightIsBaseline(t *testing.T) {
	s := openTest(t, "", nil)
	record(t, s, sec(0), map[string]*wgtypes.Device{"wg0": dev(peer(1, 1<<35, 1<<33, 1))})
	record(t, s, sec(10), map[string]*wgtypes.Device{"wg0": dev(peer(1, 1<<35+5, 1<<33+6, 1))})
	if rx, tx := peerTotal(t, s, "wg0", 1, time.Hour, sec(15)); rx != 5 || tx != 6 {
		t.Errorf("rx %d tx %d, want 5 6", rx, tx)
	}
}

// The clock stepping back keeps every byte and leaves no bucket after the
// new time.
func TestClockBackwards(t *testing.T) {
	tiers := []Tier{{10 * time.Second, 360}, {time.Minute, 60}}
	s := openTest(t, "", tiers)
	rx := uint64(0)
	for i := 0; i <= 30; i++ { // 0 .. 300 s
		record(t, s, sec(i*10), map[string]*wgtypes.Device{"wg0": dev(peer(1, rx, 0, 1))})
		rx += 100
	}
	// 3000 bytes so far; the clock goes back 200 s.
	back := 100
	record(t, s, sec(back), map[string]*wgtypes.Device{"wg0": dev(peer(1, rx, 0, 1))})
	record(t, s, sec(back+10), map[string]*wgtypes.Device{"wg0": dev(peer(1, rx+100, 0, 1))})
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, last := range []time.Duration{time.Hour, 60*time.Minute + time.Second} {
		if got, _ := peerTotal(t, s, "wg0", 1, last, sec(back+10)); got != 3200 {
			t.Errorf("last %v: rx %d after the clock went back, want 3200", last, got)
		}
	}
	k := key(1)
	r := query(t, s, Query{Interface: "wg0", Peer: &k, Last: time.Hour, Now: sec(back + 10)})
	if p := r.Points[len(r.Points)-1]; p.RxBytes != 100 {
		t.Errorf("newest 10 s bucket: %d bytes, want 100", p.RxBytes)
	}
	// Nothing is dated after the new time, in any tier.
	for _, tier := range tiers {
		n := 0
		r := query(t, s, Query{Interface: "wg0", Peer: &k, Last: tier.Span(), Now: sec(back + 10).Add(tier.Span())})
		for _, p := range r.Points {
			if p.Start.After(sec(back+10)) && p.RxBytes != 0 {
				n++
			}
		}
		if n != 0 {
			t.Errorf("tier %v: %d buckets after the clock's new time", tier.Resolution, n)
		}
	}
}

// Each range is answered at its resolution, with the traffic in the right
// buckets and rates in bytes per second.
func TestQueryResolutions(t *testing.T) {
	s := openTest(t, "", nil)
	now := t0.Add(40 * 24 * time.Hour)
	// Traffic in bursts at known moments.
	type burst struct {
		ago time.Duration
		rx  uint64
	}
	bursts := []burst{
		{35 * 24 * time.Hour, 7_000_000}, // only in the 1-day tier
		{20 * 24 * time.Hour, 5_000_000}, // 1 h tier and up
		{5 * time.Hour, 300_000},         // 1 min tier and up
		{30 * time.Minute, 60_000},       // every tier
		{25 * time.Second, 1_000},        // every tier
	}
	rx := uint64(0)
	record(t, s, now.Add(-36*24*time.Hour), map[string]*wgtypes.Device{"wg0": dev(peer(1, 0, 0, 1))})
	for _, b := range bursts {
		at := now.Add(-b.ago)
		record(t, s, at.Add(-time.Second), map[string]*wgtypes.Device{"wg0": dev(peer(1, rx, 0, 1))})
		rx += b.rx
		record(t, s, at, map[string]*wgtypes.Device{"wg0": dev(peer(1, rx, 0, 1))})
	}
	k := key(1)
	for _, c := range []struct {
		last  time.Duration
		res   time.Duration
		n     int
		total uint64
	}{
		{time.Hour, 10 * time.Second, 360, 61_000},
		{24 * time.Hour, time.Minute, 1440, 361_000},
		{30 * 24 * time.Hour, time.Hour, 720, 5_361_000},
		{365 * 24 * time.Hour, 24 * time.Hour, 365, 12_361_000},
		{1000 * 24 * time.Hour, 24 * time.Hour, 400, 12_361_000},
		{10 * time.Second, 10 * time.Second, 1, 0},
	} {
		r := query(t, s, Query{Interface: "wg0", Peer: &k, Last: c.last, Now: now})
		if r.Resolution != c.res || len(r.Points) != c.n || r.RxBytes != c.total {
			t.Errorf("last %v: resolution %v, %d points, %d bytes; want %v, %d, %d", c.last, r.Resolution, len(r.Points), r.RxBytes, c.res, c.n, c.total)
			continue
		}
		for _, b := range bursts {
			if b.ago > c.last {
				continue
			}
			at := now.Add(-b.ago)
			i := int(at.Sub(r.Points[0].Start) / c.res)
			p := r.Points[i]
			if p.RxBytes < b.rx {
				t.Errorf("last %v: bucket %v holds %d bytes, want the burst of %d", c.last, p.Start, p.RxBytes, b.rx)
			}
			if want := float64(p.RxBytes) / c.res.Seconds(); i < len(r.Points)-1 && p.RxRate != want {
				t.Errorf("last %v: bucket %v rate %v, want %v", c.last, p.Start, p.RxRate, want)
			}
		}
		if !r.Points[len(r.Points)-1].Start.Equal(now.Truncate(c.res)) {
			t.Errorf("last %v: newest bucket starts %v, want %v", c.last, r.Points[len(r.Points)-1].Start, now.Truncate(c.res))
		}
	}
	// The bucket holding Now has its rate over its elapsed part.
	r := query(t, s, Query{Interface: "wg0", Peer: &k, Last: time.Minute, Now: now.Add(-22 * time.Second)})
	if p := r.Points[len(r.Points)-1]; p.RxBytes != 1000 || p.RxRate != 1000/8.0 {
		t.Errorf("current bucket: %d bytes at %v/s, want 1000 at 125/s", p.RxBytes, p.RxRate)
	}
}

// A month of samples leaves every tier at or under its slot count, and the
// file stops growing once the longest span is full.
func TestBoundedSize(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("simulates a month")
	}
	s := openTest(t, "", nil)
	const peers = 20
	tiers := DefaultTiers()
	counters := make([]uint64, peers)
	sample := func(at time.Time, step int) {
		ps := make([]wgtypes.Peer, peers)
		for i := range ps {
			counters[i] += uint64(1000 + i*step%977)
			ps[i] = peer(i+1, counters[i], counters[i]/2, 1)
		}
		record(t, s, at, map[string]*wgtypes.Device{"wg0": dev(ps...)})
	}
	// A sample every 10 min for 29 days, every minute in the last day and
	// every 10 s in the last hour: every bucket of every tier is filled.
	end := t0.Add(30 * 24 * time.Hour)
	at := t0
	step := 0
	for ; at.Before(end.Add(-24 * time.Hour)); at = at.Add(10 * time.Minute) {
		sample(at, step)
		step++
	}
	for ; at.Before(end.Add(-time.Hour)); at = at.Add(time.Minute) {
		sample(at, step)
		step++
	}
	for ; !at.After(end); at = at.Add(10 * time.Second) {
		sample(at, step)
		step++
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	want := []int{360, 1440, 721, 31}
	for i, tier := range tiers {
		if n := keysIn(t, s, tier); n > tier.Slots || n != want[i] {
			t.Errorf("tier %v: %d buckets, want %d (at most %d)", tier.Resolution, n, want[i], tier.Slots)
		}
	}
	month, err := s.Size()
	if err != nil {
		t.Fatal(err)
	}
	// An entry is at most 1+3+3 bytes here: 20 peers × 2,552 buckets ×
	// 7 bytes is 357 kB of records; allow bbolt's pages and freelist.
	if month > 2<<20 {
		t.Errorf("file is %d bytes after a month, want under 2 MiB", month)
	}
	t.Logf("20 peers, 30 days: %d bytes", month)
}

// Once every tier is full, more samples do not grow the file.
func TestSizePlateau(t *testing.T) {
	tiers := []Tier{{time.Second, 20}, {10 * time.Second, 20}, {100 * time.Second, 10}}
	s := openTest(t, "", tiers)
	const peers = 30
	counters := make([]uint64, peers)
	run := func(from, to int) {
		for n := from; n < to; n++ {
			ps := make([]wgtypes.Peer, peers)
			for i := range ps {
				counters[i] += uint64(100 + (n*7+i)%300)
				ps[i] = peer(i+1, counters[i], counters[i], 1)
			}
			record(t, s, sec(n), map[string]*wgtypes.Device{"wg0": dev(ps...)})
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	span := int(tiers[2].Span() / time.Second)
	run(0, 2*span)
	full, _ := s.Size()
	run(2*span, 6*span)
	later, _ := s.Size()
	if later > full {
		t.Errorf("file grew from %d to %d bytes after its tiers were full", full, later)
	}
	for _, tier := range tiers {
		if n := keysIn(t, s, tier); n != tier.Slots {
			t.Errorf("tier %v: %d buckets, want %d", tier.Resolution, n, tier.Slots)
		}
	}
	// Peers gone for longer than the longest span are forgotten.
	run2 := 6 * span
	record(t, s, sec(run2), map[string]*wgtypes.Device{})
	record(t, s, sec(run2+span+200), map[string]*wgtypes.Device{})
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(s.byID) != 0 {
		t.Errorf("%d peers remembered after all their history expired", len(s.byID))
	}
}

func TestInvalid(t *testing.T) {
	s := openTest(t, "", nil)
	for _, c := range []struct {
		name string
		at   time.Time
		devs map[string]*wgtypes.Device
	}{
		{"zero time", time.Time{}, nil},
		{"before 1970", time.Unix(-5, 0), nil},
		{"empty name", sec(0), map[string]*wgtypes.Device{"": dev()}},
		{"long name", sec(0), map[string]*wgtypes.Device{string(make([]byte, 256)): dev()}},
		{"peer twice", sec(0), map[string]*wgtypes.Device{"wg0": dev(peer(1, 0, 0, 0), peer(2, 0, 0, 0), peer(1, 5, 5, 0))}},
	} {
		if err := s.Record(c.at, c.devs); !errors.Is(err, ErrInvalidSample) {
			t.Errorf("%s: %v, want ErrInvalidSample", c.name, err)
		}
	}
	if len(s.byID) != 0 || s.hasPending {
		t.Error("an invalid sample was applied in part")
	}
	if _, err := s.Query(Query{Interface: "wg0"}); !errors.Is(err, ErrInvalidSample) {
		t.Errorf("query without range: %v", err)
	}
	for _, tiers := range [][]Tier{
		{},
		{{1500 * time.Millisecond, 10}},
		{{time.Second, 0}},
		{{10 * time.Second, 10}, {15 * time.Second, 10}},
		{{10 * time.Second, 100}, {20 * time.Second, 10}},
	} {
		if _, err := Open(filepath.Join(t.TempDir(), "h.db"), Options{Tiers: tiers}); !errors.Is(err, ErrInvalidTiers) {
			t.Errorf("tiers %v: %v, want ErrInvalidTiers", tiers, err)
		}
	}
	s.Close()
	if err := s.Record(sec(0), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close: %v", err)
	}
	if _, err := s.Query(Query{Interface: "wg0", Last: time.Hour}); !errors.Is(err, ErrClosed) {
		t.Errorf("Query after Close: %v", err)
	}
}

// A file that is not a history database, or is one of a later version, is
// refused with an error naming it.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("this is not a database, honestly, not at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(junk, Options{}); err == nil {
		t.Error("opened a junk file")
	}
	s := openTest(t, dir, nil)
	s.db.Update(func(tx *boltTx) error { return tx.Bucket(bucketMeta).Put(keyVersion, []byte{9}) })
	s.Close()
	if _, err := Open(filepath.Join(dir, "history.db"), Options{}); !errors.Is(err, ErrVersion) {
		t.Errorf("version 9: %v, want ErrVersion", err)
	}
}

// Changing the tiers drops the ones no longer configured.
func TestTierChange(t *testing.T) {
	dir := t.TempDir()
	a := []Tier{{10 * time.Second, 6}, {time.Minute, 60}}
	s := openTest(t, dir, a)
	record(t, s, sec(0), map[string]*wgtypes.Device{"wg0": dev(peer(1, 0, 0, 1))})
	record(t, s, sec(10), map[string]*wgtypes.Device{"wg0": dev(peer(1, 50, 0, 1))})
	s.Close()
	s = openTest(t, dir, []Tier{{time.Minute, 60}})
	if rx, _ := peerTotal(t, s, "wg0", 1, time.Hour, sec(20)); rx != 50 {
		t.Errorf("kept tier: rx %d, want 50", rx)
	}
	var names []string
	s.db.View(func(tx *boltTx) error {
		return tx.ForEach(func(name []byte, _ *boltBucket) error { names = append(names, string(name)); return nil })
	})
	for _, n := range names {
		if n == "tier/10" {
			t.Errorf("buckets %v: the dropped tier is still there", names)
		}
	}
}
