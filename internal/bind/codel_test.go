package bind

import (
	"math"
	"testing"
	"time"
)

func ms(f float64) int64 { return int64(f * float64(time.Millisecond)) }

// dataMsg is a transport data message of n bytes.
func dataMsg(n int) []byte {
	b := make([]byte, n)
	b[0] = 4
	return b
}

// run feeds c one datagram every step from start to end, each having
// waited sojourn(t), and returns the times of the drops.
func runCodel(c *codel, start, end, step int64, sojourn func(t int64) int64) []int64 {
	var drops []int64
	msg := dataMsg(1400)
	for t := start; t < end; t += step {
		sizes := []int{len(msg)}
		if c.filter(t, [][]byte{msg}, sizes, []int64{t - sojourn(t)}) == 1 {
			if sizes[0] != 0 {
				panic("a dropped datagram kept its size")
			}
			drops = append(drops, t)
		}
	}
	return drops
}

func TestCodelBelowTargetNeverDrops(t *testing.T) {
	c := newCodel(queueTarget, queueInterval)
	if d := runCodel(c, ms(1), ms(2000), ms(0.01), func(int64) int64 { return ms(0.9) }); len(d) != 0 {
		t.Fatalf("dropped %d datagrams that waited below target", len(d))
	}
}

// A burst above target that ends within an interval passes whole.
func TestCodelBurstPasses(t *testing.T) {
	c := newCodel(queueTarget, queueInterval)
	burst := func(t int64) int64 {
		if t%ms(100) < ms(9) {
			return ms(20)
		}
		return 0
	}
	if d := runCodel(c, ms(1), ms(2000), ms(0.01), burst); len(d) != 0 {
		t.Fatalf("dropped %d datagrams of bursts shorter than the interval (first at %v)", len(d), time.Duration(d[0]))
	}
}

// A standing queue above target is dropped from after one interval on,
// ever faster (interval/sqrt(count)), and drops stop once it is gone.
func TestCodelStandingQueueDropsAtControlLaw(t *testing.T) {
	c := newCodel(queueTarget, queueInterval)
	standing := func(t int64) int64 {
		if t < ms(500) {
			return ms(5)
		}
		return ms(0.2)
	}
	d := runCodel(c, ms(1), ms(1000), ms(0.01), standing)
	if len(d) < 10 {
		t.Fatalf("only %d drops in 490 ms of a standing queue", len(d))
	}
	if first := d[0]; first < ms(11) || first > ms(11.1) {
		t.Errorf("first drop at %v, want one interval after the delay first exceeded target (11 ms)", time.Duration(first))
	}
	// The gaps shrink as interval/sqrt(count), count being the drops so far.
	for k := 1; k < 5; k++ {
		gap := d[k] - d[k-1]
		want := float64(queueInterval) / math.Sqrt(float64(k))
		if float64(gap) < want-float64(ms(0.02)) || float64(gap) > want+float64(ms(0.02)) {
			t.Errorf("gap before drop %d = %v, want %v", k+1, time.Duration(gap), time.Duration(want))
		}
	}
	if last := d[len(d)-1]; last >= ms(500) {
		t.Errorf("dropped at %v, after the queue was gone", time.Duration(last))
	}
	if c.drops != uint64(len(d)) {
		t.Errorf("drops = %d, want %d", c.drops, len(d))
	}
}

// Only transport data is dropped: never handshakes, keepalives, or
// datagrams without an arrival time.
func TestCodelDropsOnlyData(t *testing.T) {
	c := newCodel(queueTarget, queueInterval)
	c.dropping, c.dropNext, c.count, c.firstAbove = true, 0, 1, 1 // due to drop at once
	now := ms(1000)
	init := make([]byte, 148)
	init[0] = 1
	keepalive := dataMsg(32)
	data := dataMsg(1400)
	odd := dataMsg(1400)
	odd[1] = 1 // reserved bytes set: not a transport message
	bufs := [][]byte{init, keepalive, odd, data, data}
	sizes := []int{148, 32, 1400, 1400, 1400}
	arrived := []int64{now - ms(50), now - ms(50), now - ms(50), 0, now - ms(50)}
	if n := c.filter(now, bufs, sizes, arrived); n != 1 {
		t.Fatalf("dropped %d, want 1 (the last data message)", n)
	}
	if want := []int{148, 32, 1400, 1400, 0}; !equalInts(sizes, want) {
		t.Errorf("sizes = %v, want %v", sizes, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
