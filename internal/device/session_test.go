package device

import (
	"net/netip"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/clock"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/wgtypes"
	"github.com/warren-vpn/warren/internal/wire"
)

// TestResponderWaitsForConfirmation: the responder may not send on a
// session until the initiator's first packet on it proves the initiator
// has it (§5.4.6). a rekeys, and b's response is lost: b holds the new
// session as next, and what it sends meanwhile goes out on the current
// one, which a can open. Once a has the response, a's keepalive confirms
// the session and b moves to it.
func TestResponderWaitsForConfirmation(t *testing.T) {
	n, a, b := newPair(t, netsim.Options{}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("hello")))
	pa, pb := a.peer(t, b.pub), b.peer(t, a.pub)
	_, old, _ := pb.sessions()
	if old == nil || old.initiator {
		t.Fatalf("b's session: %+v, want one where b responded", old)
	}

	// a starts a new handshake; b's response never arrives.
	n.SetFilter(func(src, dst netip.AddrPort, data []byte) bool {
		return !(src.Addr() == b.addr && len(data) > 0 && data[0] == wire.TypeResponse)
	})
	time.Sleep(50 * time.Millisecond) // b's initiation flood guard
	pa.hsMu.Lock()
	pa.lastSentHandshake = time.Time{} // as if RekeyTimeout had passed
	pa.hsMu.Unlock()
	pa.sendInitiation(false)
	waitFor(t, "b to answer", func() bool { _, cur, next := pb.sessions(); return next != nil || cur != old })
	_, cur, next := pb.sessions()
	if cur != old || next == nil {
		t.Fatal("b replaced its current session before the initiator confirmed the new one")
	}

	for i := range 3 {
		expectPacket(t, b, a, numbered(b.v4, a.v4, i, 100))
	}
	if got := next.sendNonce.Load(); got != 0 {
		t.Fatalf("b sent %d packets on the unconfirmed session", got)
	}
	if _, cur, _ := pb.sessions(); cur != old {
		t.Fatal("b moved to the unconfirmed session")
	}

	// The response gets through on a's retry; a's first packet on the new
	// session confirms it, and b uses it from then on.
	n.SetFilter(nil)
	time.Sleep(50 * time.Millisecond)
	pa.hsMu.Lock()
	pa.lastSentHandshake = time.Time{}
	pa.hsMu.Unlock()
	pa.sendInitiation(true)
	waitFor(t, "b to move to a confirmed session", func() bool {
		_, cur, _ := pb.sessions()
		return cur != old && cur != nil
	})
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("on the new session")))
	if _, cur, _ := pb.sessions(); cur.sendNonce.Load() == 0 {
		t.Error("b did not send on its confirmed session")
	}
}

// TestInitiatorRekeysWhenOnlyReceiving: an initiator that only receives
// (here: the responder's persistent keepalives) starts a new handshake
// once its session is older than RejectAfterTime - KeepaliveTimeout -
// RekeyTimeout (§6.2, keepKeyFreshReceiving), so that the session is
// replaced before it expires; the responder, which may not rekey on
// time, sends no initiation.
func TestInitiatorRekeysWhenOnlyReceiving(t *testing.T) {
	clk := clock.NewManual(testEpoch)
	n, a, b := newPair(t, netsim.Options{}, clk)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("first")))
	pa := a.peer(t, b.pub)
	_, first, _ := pa.sessions()
	if first == nil || !first.initiator {
		t.Fatalf("a's session: %+v, want one a initiated", first)
	}
	ka := uint16(7)
	if err := b.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: a.pub, PersistentKeepaliveInterval: &ka}}}); err != nil {
		t.Fatal(err)
	}
	tp := installTap(n)
	fresh := RejectAfterTime - KeepaliveTimeout - RekeyTimeout
	advance(clk, fresh-time.Second, a, b)
	if c := tp.count(a.addr, wire.TypeInitiation); c != 0 {
		t.Fatalf("a sent %d initiations before its session was %v old", c, fresh)
	}
	if k := tp.keepalivesFrom(b.addr); k < 10 {
		t.Fatalf("b sent only %d keepalives", k)
	}
	// The next keepalive a receives after `fresh` starts the handshake,
	// well before RejectAfterTime.
	advance(clk, RejectAfterTime-fresh-time.Second, a, b)
	if c := tp.count(a.addr, wire.TypeInitiation); c != 1 {
		t.Fatalf("a sent %d initiations by %v, want 1", c, RejectAfterTime-time.Second)
	}
	if c := tp.count(b.addr, wire.TypeInitiation); c != 0 {
		t.Errorf("b sent %d initiations", c)
	}
	if _, cur, _ := pa.sessions(); cur == first {
		t.Error("a still uses its first session")
	}
}
