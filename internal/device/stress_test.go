package device

import (
	"encoding/binary"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/tun"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// TestCloseUnderLoad: closing devices while both directions are busy
// neither deadlocks nor leaks a goroutine.
func TestCloseUnderLoad(t *testing.T) {
	checkGoroutines(t)
	n, a, b := newPair(t, netsim.Options{}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("warm up")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("warm up")))
	a.tun.SetWriteDrop(true)
	b.tun.SetWriteDrop(true)
	var wg sync.WaitGroup
	for _, pair := range [][2]*node{{a, b}, {b, a}} {
		from, to := pair[0], pair[1]
		wg.Add(1)
		go func() {
			defer wg.Done()
			pkt := ipv4(from.v4, to.v4, make([]byte, 1200))
			for from.tun.Inject(pkt) == nil {
			}
		}()
	}
	// Reconfigure and flap while traffic flows.
	for i := range 20 {
		port := uint16(7000 + i)
		if err := a.d.Apply(&wgtypes.Config{ListenPort: &port}); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			a.d.Down()
			a.d.Up()
		}
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() {
		a.d.Close()
		b.d.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("Close deadlocked:\n%s", buf[:runtime.Stack(buf, true)])
	}
	wg.Wait()
	n.Close()
}

// TestIdlePeersAreCheap: a device with many configured but idle peers
// holds no per-peer buffers, timers or goroutines.
func TestIdlePeersAreCheap(t *testing.T) {
	if testing.Short() {
		t.Skip("many peers")
	}
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	a := newNode(t, n, 1, nil)
	const peers = 2000
	cfg := &wgtypes.Config{}
	for i := range peers {
		ep := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 51820)
		cfg.Peers = append(cfg.Peers, wgtypes.PeerConfig{
			PublicKey:  newKey(t),
			Endpoint:   &ep,
			AllowedIPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100, byte(i >> 8), byte(i)}), 32)},
		})
	}
	goroutines := runtime.NumGoroutine()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := a.d.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perPeer := (int64(after.HeapInuse) - int64(before.HeapInuse)) / peers
	t.Logf("%d bytes of heap per idle peer", perPeer)
	if perPeer > 4096 {
		t.Errorf("an idle peer costs %d bytes", perPeer)
	}
	if g := runtime.NumGoroutine(); g > goroutines+2 {
		t.Errorf("goroutines grew from %d to %d", goroutines, g)
	}
	a.d.mu.RLock()
	for _, p := range a.d.peers {
		for _, tm := range p.timers {
			if tm != nil {
				t.Fatal("idle peer has a timer")
			}
		}
		if p.staged != nil {
			t.Fatal("idle peer has a staging queue")
		}
	}
	a.d.mu.RUnlock()
}

// TestGarbageDatagrams: random datagrams of every type and size neither
// crash the device nor disturb an established tunnel.
func TestGarbageDatagrams(t *testing.T) {
	n, a, b := newPair(t, netsim.Options{}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("before")))
	junk := n.NewBind(netip.MustParseAddr("192.0.2.99"))
	if _, _, err := junk.Open(0); err != nil {
		t.Fatal(err)
	}
	defer junk.Close()
	ep, _ := junk.ParseEndpoint(netip.AddrPortFrom(b.addr, b.port).String())
	_, cur, _ := b.peer(t, a.pub).sessions()
	buf := make([]byte, 2000)
	for i := range 5000 {
		size := i % len(buf)
		randReader{}.Read(buf[:size])
		if size > 0 {
			buf[0] = byte(i%5) + 0 // types 0..4
		}
		if size > 4 {
			buf[1], buf[2], buf[3] = 0, 0, 0
		}
		if size >= 8 && i%3 == 0 && cur != nil {
			// aim at the live session's index
			buf[4], buf[5], buf[6], buf[7] = byte(cur.localIndex), byte(cur.localIndex>>8), byte(cur.localIndex>>16), byte(cur.localIndex>>24)
		}
		if err := junk.Send([][]byte{buf[:size]}, ep); err != nil {
			t.Fatal(err)
		}
	}
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("after")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("after")))
	if ep := b.peer(t, a.pub).getEndpoint().DstAddrPort(); ep.Addr() != a.addr {
		t.Errorf("garbage moved the peer's endpoint to %v", ep)
	}
}

// TestStagedQueueDropsOldest: packets waiting for a session are bounded,
// and the newest survive.
func TestStagedQueueDropsOldest(t *testing.T) {
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	a := newNode(t, n, 1, nil)
	pub := newKey(t)
	pfx := netip.MustParsePrefix("10.5.0.0/16")
	if err := a.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub, AllowedIPs: []netip.Prefix{pfx}}}}); err != nil {
		t.Fatal(err)
	}
	const total = 3 * MaxStagedPackets
	for i := range total {
		if err := a.tun.Inject(numbered(a.v4, netip.MustParseAddr("10.5.0.1"), i, 40)); err != nil {
			t.Fatal(err)
		}
	}
	p := a.peer(t, pub)
	number := func(e *elem) int { return int(binary.BigEndian.Uint32(e.pkt[20:])) }
	waitFor(t, "the last packet staged", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.staged) > 0 && number(p.staged[len(p.staged)-1]) == total-1
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.staged) != MaxStagedPackets {
		t.Fatalf("%d packets staged, want %d", len(p.staged), MaxStagedPackets)
	}
	for j, e := range p.staged {
		if got, want := number(e), total-MaxStagedPackets+j; got != want {
			t.Fatalf("staged[%d] is packet %d, want %d", j, got, want)
		}
	}
}

// TestCloseWithStuckTUN: a TUN device that stops taking packets (its
// reader gone) does not keep Close from finishing. (Down waits for the
// packets being written, as tun.Device says.)
func TestCloseWithStuckTUN(t *testing.T) {
	checkGoroutines(t)
	_, a, b := newPair(t, netsim.Options{QueueLen: 8192}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("warm up")))
	// Nobody reads b's TUN: its Write blocks once the queue is full.
	pkt := ipv4(a.v4, b.v4, make([]byte, 1000))
	for range tun.MemoryQueueLen + 4*pipelineDepth*64 {
		if err := a.tun.Inject(pkt); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "b's pipeline to back up", func() bool {
		if len(b.tun.Outbound()) != tun.MemoryQueueLen {
			return false
		}
		if len(b.d.rx.q) == pipelineDepth {
			return true // the sequencer is stuck
		}
		// Or a receiver is, finishing a batch itself.
		if b.d.rx.mu.TryLock() {
			b.d.rx.mu.Unlock()
			return false
		}
		return true
	})
	// Down first: it must not wait for a receiver stuck in a TUN write
	// while holding the device's lock; then Close, which unblocks it.
	for _, step := range []struct {
		name string
		fn   func()
	}{
		{"Down", func() { b.d.Down() }},
		{"Up and Down again", func() { b.d.Up(); b.d.Down() }},
		{"Close", func() { b.d.Close(); a.d.Close() }},
	} {
		done := make(chan struct{})
		go func() {
			step.fn()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			buf := make([]byte, 1<<20)
			t.Fatalf("%s blocked behind a stuck TUN:\n%s", step.name, buf[:runtime.Stack(buf, true)])
		}
	}
}
