package ratelimit

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// countAllowed calls Allow n times at now and returns how many passed.
func countAllowed(l *Limiter, a netip.Addr, now time.Time, n int) int {
	c := 0
	for range n {
		if l.Allow(a, now) {
			c++
		}
	}
	return c
}

func TestBurstThenDeny(t *testing.T) {
	l := New()
	a := netip.MustParseAddr("192.0.2.1")
	if got := countAllowed(l, a, t0, 100); got != Burst {
		t.Fatalf("burst allowed %d packets, want %d", got, Burst)
	}
}

func TestRefill(t *testing.T) {
	cost := time.Second / PacketsPerSecond
	tests := []struct {
		name  string
		after time.Duration // time after draining the bucket
		want  int           // packets then allowed
	}{
		{"nothing yet", cost - 1, 0},
		{"one token", cost, 1},
		{"two tokens", 2*cost + cost/2, 2},
		{"capped at burst", 10 * time.Second, Burst},
		{"half a second", 500 * time.Millisecond, Burst},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New()
			a := netip.MustParseAddr("198.51.100.7")
			countAllowed(l, a, t0, Burst+1)
			if got := countAllowed(l, a, at(tt.after), 100); got != tt.want {
				t.Fatalf("after %v: allowed %d, want %d", tt.after, got, tt.want)
			}
		})
	}
}

func TestSustainedRate(t *testing.T) {
	l := New()
	a := netip.MustParseAddr("203.0.113.9")
	// Ten seconds of one attempt per millisecond: the burst plus 20/s.
	n := 0
	for ms := range 10_000 {
		if l.Allow(a, at(time.Duration(ms)*time.Millisecond)) {
			n++
		}
	}
	if want := Burst + 10*PacketsPerSecond; n < want-1 || n > want {
		t.Fatalf("allowed %d in 10 s, want about %d", n, want)
	}
}

func TestGrouping(t *testing.T) {
	tests := []struct {
		name      string
		a, b      string
		sameGroup bool
	}{
		{"v6 same /64", "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
		{"v6 other /64", "2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"v6 zone ignored", "fe80::1%eth0", "fe80::2%eth1", true},
		{"v4 distinct hosts", "10.0.0.1", "10.0.0.2", false},
		{"v4-mapped is the v4 address", "::ffff:10.0.0.1", "10.0.0.1", true},
		{"v4-mapped host not grouped by /64", "::ffff:10.0.0.1", "::ffff:10.0.0.2", false},
		{"v4-mapped zero address", "0.0.0.0", "::ffff:0:0", true},
		{"v4 and ::/64 distinct", "0.0.0.0", "::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New()
			countAllowed(l, netip.MustParseAddr(tt.a), t0, Burst)
			got := l.Allow(netip.MustParseAddr(tt.b), t0)
			if got == tt.sameGroup {
				t.Fatalf("after draining %s, Allow(%s) = %v; same group = %v", tt.a, tt.b, got, tt.sameGroup)
			}
		})
	}
}

func TestInvalidAddressDenied(t *testing.T) {
	if New().Allow(netip.Addr{}, t0) {
		t.Fatal("invalid address allowed")
	}
}

func TestClockGoingBackwards(t *testing.T) {
	l := New()
	a := netip.MustParseAddr("192.0.2.1")
	countAllowed(l, a, at(time.Second), Burst)
	if l.Allow(a, t0) {
		t.Fatal("going back in time refilled the bucket")
	}
	if !l.Allow(a, at(time.Second+time.Second/PacketsPerSecond)) {
		t.Fatal("bucket did not refill once time caught up")
	}
}

func v4(i uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], i)
	return netip.AddrFrom4(b)
}

func TestFloodIsBounded(t *testing.T) {
	l := New()
	legit := netip.MustParseAddr("2001:db8::1")
	allowedFlood := 0
	// 100k distinct sources within 200 ms, with a legitimate peer that
	// started before the flood and keeps sending every 10 ms.
	if !l.Allow(legit, t0) {
		t.Fatal("legit source denied at start")
	}
	legitOK, legitTries := 0, 0
	for i := range 100_000 {
		now := at(time.Duration(i) * 2 * time.Microsecond)
		if l.Allow(v4(0x0a000000+uint32(i)), now) {
			allowedFlood++
		}
		if i%5000 == 0 {
			legitTries++
			if l.Allow(legit, now) {
				legitOK++
			}
		}
		if n := l.Len(); n > MaxSources {
			t.Fatalf("tracking %d sources, cap is %d", n, MaxSources)
		}
	}
	if allowedFlood > MaxSources {
		t.Fatalf("flood got %d packets through while the table was full", allowedFlood)
	}
	// 200 ms of legitimate traffic: burst minus one plus four refills.
	if legitOK < Burst-1 {
		t.Fatalf("legit source passed %d of %d times under flood", legitOK, legitTries)
	}
	// Once the flood has gone stale, new sources are welcome again.
	if !l.Allow(netip.MustParseAddr("198.51.100.1"), at(2*time.Second)) {
		t.Fatal("new source denied after the flood went stale")
	}
	if n := l.Len(); n > 2 {
		t.Fatalf("stale entries kept: %d tracked", n)
	}
}

func TestFullTableDeniesNewSourcesOnly(t *testing.T) {
	l := New()
	for i := range MaxSources {
		if !l.Allow(v4(uint32(i)), t0) {
			t.Fatalf("source %d denied while filling", i)
		}
	}
	if l.Allow(v4(MaxSources), at(time.Millisecond)) {
		t.Fatal("new source admitted to a full table with nothing stale")
	}
	if !l.Allow(v4(7), at(time.Millisecond)) {
		t.Fatal("tracked source denied while the table is full")
	}
	// After StaleAfter, idle entries make room.
	if !l.Allow(v4(MaxSources), at(StaleAfter+time.Millisecond)) {
		t.Fatal("new source denied after entries went stale")
	}
}

func TestConcurrent(t *testing.T) {
	l := New()
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for g := range 8 {
		wg.Go(func() {
			n := countAllowed(l, netip.MustParseAddr("192.0.2.1"), t0, 100)
			countAllowed(l, v4(uint32(g)), t0, 100)
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != Burst {
		t.Fatalf("shared source got %d packets across goroutines, want %d", total, Burst)
	}
}

func BenchmarkAllowSameSource(b *testing.B) {
	l := New()
	a := netip.MustParseAddr("192.0.2.1")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Allow(a, at(time.Duration(i)*time.Millisecond))
		i++
	}
}

func BenchmarkAllowFlood(b *testing.B) {
	l := New()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Allow(v4(uint32(i)), at(time.Duration(i)*time.Microsecond))
		i++
	}
}

func BenchmarkAllowParallel(b *testing.B) {
	l := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow(v4(uint32(i%1000)), at(time.Duration(i)*time.Microsecond))
			i++
		}
	})
}

func ExampleLimiter() {
	l := New()
	src := netip.MustParseAddr("192.0.2.1")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range Burst + 1 {
		fmt.Println(i, l.Allow(src, now))
	}
	// One packet's worth of tokens refills in 1/PacketsPerSecond.
	fmt.Println("later", l.Allow(src, now.Add(time.Second/PacketsPerSecond)))
	// Output:
	// 0 true
	// 1 true
	// 2 true
	// 3 true
	// 4 true
	// 5 false
	// later true
}

// FuzzAllow decodes data as a sequence of (source, time step) pairs, 3
// bytes each, and checks the limiter's bounds: no source group ever gets
// more than its burst plus what the elapsed time refilled, and the table
// never exceeds MaxSources.
func FuzzAllow(f *testing.F) {
	f.Add([]byte{1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0})
	f.Add([]byte{1, 0, 1, 2, 0, 1, 0x81, 0, 255, 0x82, 0, 255, 1, 255, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		l := New()
		now := t0
		allowed := map[sourceKey]int{}
		first := map[sourceKey]time.Time{}
		for ; len(data) >= 3; data = data[3:] {
			// Top bit picks v4 or v6; v6 sources differ in byte 7 (the
			// /64) or byte 15 (the host part).
			var a netip.Addr
			if data[0]&0x80 == 0 {
				a = netip.AddrFrom4([4]byte{10, 0, 0, data[0]})
			} else {
				a = netip.AddrFrom16([16]byte{0x20, 0x01, 7: data[0] & 0x0f, 15: data[0] >> 4 & 7})
			}
			now = now.Add(time.Duration(data[1]) * time.Millisecond * time.Duration(data[2]))
			k := keyOf(a)
			if _, ok := first[k]; !ok {
				first[k] = now
			}
			if l.Allow(a, now) {
				allowed[k]++
			}
			limit := Burst + int(now.Sub(first[k])/(time.Second/PacketsPerSecond))
			if allowed[k] > limit {
				t.Fatalf("source %v got %d packets by %v, limit %d", a, allowed[k], now.Sub(first[k]), limit)
			}
			if l.Len() > MaxSources {
				t.Fatalf("tracking %d sources", l.Len())
			}
		}
	})
}
