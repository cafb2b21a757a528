package device

import (
	"testing"
	"time"
	"unsafe"

	"github.com/warren-vpn/warren/internal/clock"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// TestPeerSize: a Peer stays within the 320-byte allocation size class; a
// million idle peers pay for every byte above it.
func TestPeerSize(t *testing.T) {
	if n := unsafe.Sizeof(Peer{}); n > 320 {
		t.Errorf("Peer is %d bytes, want at most 320 (the size class a million idle peers use)", n)
	}
}

// TestIdlePeersNoTimers: peers that never exchange a packet arm no timer,
// on a device that is up, whatever time passes (no per-peer wakeups while
// idle); a peer whose session expired lets its timers go again.
func TestIdlePeersNoTimers(t *testing.T) {
	clk := clock.NewManual(time.Unix(1700000000, 0))
	nt, a, b := newPair(t, netsim.Options{}, clk)
	_ = nt
	if err := a.d.Apply(&wgtypes.Config{Peers: fillerPeers(t, 500)}); err != nil {
		t.Fatal(err)
	}
	countTimers := func() (peers, timers int) {
		a.d.mu.RLock()
		defer a.d.mu.RUnlock()
		for _, p := range a.d.peers {
			p.tmu.Lock()
			if p.timers != nil {
				peers++
			}
			for i := range p.pending {
				if p.pending[i] {
					timers++
				}
			}
			p.tmu.Unlock()
		}
		return peers, timers
	}
	advance(clk, 10*time.Minute, a, b)
	if p, n := countTimers(); p != 0 || n != 0 {
		t.Fatalf("idle device: %d peers hold timers, %d pending", p, n)
	}

	// One peer talks: it alone gets timers.
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello")))
	if p, _ := countTimers(); p != 1 {
		t.Fatalf("after one exchange %d peers hold timers, want 1", p)
	}
	// After RejectAfterTime*3 of silence its keys are wiped and its timers
	// released.
	advance(clk, RejectAfterTime*3+time.Minute, a, b)
	quiesce(a, b)
	if p, n := countTimers(); p != 0 || n != 0 {
		t.Fatalf("after the session expired: %d peers hold timers, %d pending", p, n)
	}
	if prev, cur, next := a.peer(t, b.pub).sessions(); prev != nil || cur != nil || next != nil {
		t.Fatal("session kept after RejectAfterTime*3")
	}
	// And it can talk again.
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("again")))
}
