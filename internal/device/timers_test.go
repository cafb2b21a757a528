package device

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/clock"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/wgtypes"
	"github.com/warren-vpn/warren/internal/wire"
)

func TestRekeyAfterTime(t *testing.T) {
	clk := clock.NewManual(testEpoch)
	_, a, b := newPair(t, netsim.Options{}, clk)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("first")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("reply")))
	pa := a.peer(t, b.pub)
	_, first, _ := pa.sessions()
	if first == nil || !first.initiator {
		t.Fatalf("a has no initiator session: %+v", first)
	}
	// Traffic flows both ways for a while, across RekeyAfterTime.
	for i := range 14 {
		advance(clk, 10*time.Second, a, b)
		expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte(fmt.Sprint("ping ", i))))
		expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte(fmt.Sprint("pong ", i))))
	}
	waitFor(t, "rekey", func() bool { _, cur, _ := pa.sessions(); return cur != first })
	prev, cur, _ := pa.sessions()
	if d := cur.created.Sub(first.created); d <= RekeyAfterTime {
		t.Errorf("rekeyed after %v, before RekeyAfterTime", d)
	}
	if prev != first || first.isZeroed() {
		t.Errorf("old session should stay as previous until the next rekey")
	}
}

func TestSessionExpiresAfterRejectAfterTime(t *testing.T) {
	clk := clock.NewManual(testEpoch)
	n, a, b := newPair(t, netsim.Options{}, clk)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("first")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("reply")))
	pa := a.peer(t, b.pub)
	_, old, _ := pa.sessions()
	advance(clk, RejectAfterTime, a, b)
	sent := old.sendNonce.Load()
	tp := installTap(n)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("after expiry")))
	if got := old.sendNonce.Load(); got != sent {
		t.Errorf("expired session still used: nonce %d -> %d", sent, got)
	}
	if tp.count(a.addr, wire.TypeInitiation) == 0 {
		t.Error("no new handshake for an expired session")
	}
	if _, cur, _ := pa.sessions(); cur == old {
		t.Error("current session not replaced")
	}
}

func TestKeysZeroedAfterRejectAfterTimeTimesThree(t *testing.T) {
	clk := clock.NewManual(testEpoch)
	_, a, b := newPair(t, netsim.Options{}, clk)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("first")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("reply")))
	pa, pb := a.peer(t, b.pub), b.peer(t, a.pub)
	_, ka, _ := pa.sessions()
	_, kb, _ := pb.sessions()
	advance(clk, 3*RejectAfterTime+time.Second, a, b)
	waitFor(t, "keys zeroed", func() bool { return ka.isZeroed() && kb.isZeroed() })
	for _, p := range []*Peer{pa, pb} {
		if prev, cur, next := p.sessions(); prev != nil || cur != nil || next != nil {
			t.Errorf("%v still holds sessions", p)
		}
	}
	if a.d.index.len() != 0 || b.d.index.len() != 0 {
		t.Errorf("index tables not empty: %d, %d", a.d.index.len(), b.d.index.len())
	}
}

func TestPassiveKeepalive(t *testing.T) {
	clk := clock.NewManual(testEpoch)
	n, a, b := newPair(t, netsim.Options{}, clk)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("one way")))
	settle()
	tp := installTap(n)
	advance(clk, KeepaliveTimeout-time.Second, a, b)
	if k := tp.keepalivesFrom(b.addr); k != 0 {
		t.Fatalf("%d keepalives before KeepaliveTimeout", k)
	}
	advance(clk, time.Second, a, b)
	waitFor(t, "passive keepalive", func() bool { return tp.keepalivesFrom(b.addr) == 1 })
	// The keepalive answered a's data: a does not start a new handshake.
	advance(clk, KeepaliveTimeout+RekeyTimeout+time.Second, a, b)
	if c := tp.count(a.addr, wire.TypeInitiation); c != 0 {
		t.Errorf("a sent %d initiations although b answered", c)
	}
}

func TestNewHandshakeWhenNoAnswer(t *testing.T) {
	clk := clock.NewManual(testEpoch)
	n, a, b := newPair(t, netsim.Options{}, clk)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("hello")))
	settle()
	tp := installTap(n)
	n.SetBlocked(a.addr, b.addr, true)
	if err := a.tun.Inject(ipv4(a.v4, b.v4, []byte("into the void"))); err != nil {
		t.Fatal(err)
	}
	settle()
	advance(clk, KeepaliveTimeout+RekeyTimeout-time.Second, a, b)
	if c := tp.count(a.addr, wire.TypeInitiation); c != 0 {
		t.Fatalf("%d initiations too early", c)
	}
	clk.Advance(time.Second + RekeyTimeoutJitterMax)
	waitFor(t, "new handshake", func() bool { return tp.count(a.addr, wire.TypeInitiation) == 1 })
}

func TestPersistentKeepalive(t *testing.T) {
	clk := clock.NewManual(testEpoch)
	n, a, b := newPair(t, netsim.Options{}, clk)
	tp := installTap(n)
	ka := uint16(25)
	if err := a.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: b.pub, PersistentKeepaliveInterval: &ka}}}); err != nil {
		t.Fatal(err)
	}
	// Setting it on a running peer sends one at once (here: a handshake
	// first, then the keepalive).
	waitFor(t, "immediate keepalive", func() bool { return tp.keepalivesFrom(a.addr) == 1 })
	for i := 2; i <= 5; i++ {
		advance(clk, 24*time.Second, a, b)
		if k := tp.keepalivesFrom(a.addr); k != i-1 {
			t.Fatalf("keepalive %d came early (%d)", i, k)
		}
		advance(clk, time.Second, a, b)
		waitFor(t, fmt.Sprint("keepalive ", i), func() bool { return tp.keepalivesFrom(a.addr) == i })
	}
	if c := tp.count(a.addr, wire.TypeInitiation); c != 1 {
		t.Errorf("%d initiations, want 1", c)
	}
}

func TestHandshakeRetriesGiveUp(t *testing.T) {
	clk := clock.NewManual(testEpoch)
	n, a, b := newPair(t, netsim.Options{}, clk)
	tp := installTap(n)
	n.SetBlocked(a.addr, b.addr, true)
	if err := a.tun.Inject(ipv4(a.v4, b.v4, []byte("nobody home"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first initiation", func() bool { return tp.count(a.addr, wire.TypeInitiation) == 1 })
	var times []time.Duration
	last := 1
	for s := 1; s <= 200; s++ {
		advance(clk, time.Second, a, b)
		if c := tp.count(a.addr, wire.TypeInitiation); c != last {
			last = c
			times = append(times, time.Duration(s)*time.Second)
		}
	}
	// 1 + MaxTimerHandshakes+1 retries, ~RekeyTimeout apart, as wg does.
	if last != MaxTimerHandshakes+2 {
		t.Errorf("%d initiations, want %d (retries at %v)", last, MaxTimerHandshakes+2, times)
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i] - times[i-1]; gap < RekeyTimeout || gap > RekeyTimeout+time.Second {
			t.Errorf("retry gap %v", gap)
		}
	}
	if len(times) > 0 && times[len(times)-1] > 110*time.Second {
		t.Errorf("still retrying at %v", times[len(times)-1])
	}
	pa := a.peer(t, b.pub)
	pa.mu.Lock()
	staged := len(pa.staged)
	pa.mu.Unlock()
	if staged != 0 {
		t.Errorf("%d packets still staged after giving up", staged)
	}
}

// TestResponderRekeysAfterMessages: REKEY_AFTER_MESSAGES holds for both
// roles (§6.2, as wireguard-go's keepKeyFreshSending): the responder of
// the current session starts a handshake itself once it has sent that
// many messages; only REKEY_AFTER_TIME is the initiator's alone.
func TestResponderRekeysAfterMessages(t *testing.T) {
	n, a, b := newPair(t, netsim.Options{}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("hello")))
	pb := b.peer(t, a.pub)
	_, first, _ := pb.sessions()
	if first == nil || first.initiator {
		t.Fatalf("b's session: %+v, want one where b responded", first)
	}
	tp := installTap(n)
	time.Sleep(50 * time.Millisecond) // a's initiation flood guard
	first.sendNonce.Store(RekeyAfterMessages + 1)
	pb.hsMu.Lock()
	pb.lastSentHandshake = time.Time{}
	pb.hsMu.Unlock()
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("many messages later")))
	waitFor(t, "responder rekey", func() bool { _, cur, _ := pb.sessions(); return cur != first })
	if got := tp.count(b.addr, wire.TypeInitiation); got != 1 {
		t.Errorf("the responder sent %d initiations, want 1", got)
	}
}

func TestRekeyAndRejectAfterMessages(t *testing.T) {
	n, a, b := newPair(t, netsim.Options{}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("hello")))
	pa := a.peer(t, b.pub)
	tp := installTap(n)
	// Outlast the responder's initiation flood guard and timestamp granularity.
	time.Sleep(50 * time.Millisecond)

	// Past RekeyAfterMessages the initiator still sends, and rekeys.
	_, first, _ := pa.sessions()
	first.sendNonce.Store(RekeyAfterMessages + 1)
	pa.hsMu.Lock()
	pa.lastSentHandshake = time.Time{} // as if RekeyTimeout had passed
	pa.hsMu.Unlock()
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("many messages later")))
	waitFor(t, "rekey", func() bool { _, cur, _ := pa.sessions(); return cur != first })
	if tp.count(a.addr, wire.TypeInitiation) != 1 {
		t.Errorf("%d initiations", tp.count(a.addr, wire.TypeInitiation))
	}

	// At RejectAfterMessages a session sends nothing more.
	_, second, _ := pa.sessions()
	second.sendNonce.Store(RejectAfterMessages)
	pa.hsMu.Lock()
	pa.lastSentHandshake = time.Time{} // allow the handshake at once
	pa.hsMu.Unlock()
	time.Sleep(50 * time.Millisecond)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("exhausted")))
	if got := second.sendNonce.Load(); got != RejectAfterMessages {
		t.Errorf("exhausted session used: nonce %d", got)
	}
	if _, cur, _ := pa.sessions(); cur == second {
		t.Error("no new session after RejectAfterMessages")
	}
}

// sendGate is a bind whose Sends of the datagrams match picks, while armed,
// deliver them and then wait to return until released: a sender
// descheduled right after its send.
type sendGate struct {
	*netsim.Bind
	match   func(b []byte) bool
	armed   atomic.Bool
	release chan struct{}
	waiting atomic.Int64
}

func (g *sendGate) Send(bufs [][]byte, ep bind.Endpoint) error {
	err := g.Bind.Send(bufs, ep)
	if g.armed.Load() && len(bufs) > 0 && g.match(bufs[0]) {
		g.waiting.Add(1)
		<-g.release
		g.waiting.Add(-1)
	}
	return err
}

// TestAnswerBeforeSendReturns: the answer to a's data may arrive, and be
// processed, before the goroutine that sent the data returns from the
// send. The timer that expects that answer is armed before the send, so
// the answer clears it; armed after, it would survive and start a new
// handshake KeepaliveTimeout+RekeyTimeout later although b answered.
func TestAnswerBeforeSendReturns(t *testing.T) {
	clk := clock.NewManual(testEpoch)
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	gate := &sendGate{release: make(chan struct{}), match: func(b []byte) bool {
		return len(b) > wire.MinTransportSize && b[0] == wire.TypeTransport
	}}
	releaseOnce := sync.OnceFunc(func() { close(gate.release) })
	a := newNodeWith(t, n, 1, clk, nodeConfig{wrap: func(b *netsim.Bind) bind.Bind {
		gate.Bind = b
		return gate
	}})
	b := newNode(t, n, 2, clk)
	t.Cleanup(releaseOnce) // runs before the nodes' Close, which waits for the held sender
	connect(t, a, b)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("hello")))
	advance(clk, KeepaliveTimeout+RekeyTimeout+RekeyTimeoutJitterMax, a, b) // every timer of that exchange done
	tp := installTap(n)

	gate.armed.Store(true)
	question := ipv4(a.v4, b.v4, []byte("question"))
	if err := a.tun.Inject(question); err != nil {
		t.Fatal(err)
	}
	if got, ok := recv(t, b, 5*time.Second); !ok || !bytes.Equal(got, question) {
		t.Fatal("b did not get the question")
	}
	waitFor(t, "a's send to be held", func() bool { return gate.waiting.Load() == 1 })
	answer := ipv4(b.v4, a.v4, []byte("answer"))
	if err := b.tun.Inject(answer); err != nil {
		t.Fatal(err)
	}
	if got, ok := recv(t, a, 5*time.Second); !ok || !bytes.Equal(got, answer) {
		t.Fatal("a did not get the answer")
	}
	// The answer's timers run after its TUN write: data received arms
	// a's keepalive timer, idle since the exchange above.
	pb := a.peer(t, b.pub)
	waitFor(t, "a to run the answer's timers", func() bool { return pb.timerPending(timerSendKeepalive) })
	gate.armed.Store(false)
	releaseOnce()
	quiesce(a, b)

	advance(clk, KeepaliveTimeout+RekeyTimeout+RekeyTimeoutJitterMax+time.Second, a, b)
	if c := tp.count(a.addr, wire.TypeInitiation); c != 0 {
		t.Errorf("a started %d handshakes although b answered", c)
	}
}
