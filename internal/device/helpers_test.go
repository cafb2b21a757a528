package device

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/clock"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/testenv"
	"github.com/warren-vpn/warren/internal/tun"
	"github.com/warren-vpn/warren/internal/wgtypes"
	"github.com/warren-vpn/warren/internal/wire"
)

// node is one test device on a netsim network.
type node struct {
	d    *Device
	tun  *tun.Memory
	bind *netsim.Bind
	priv noise.PrivateKey
	pub  noise.PublicKey
	addr netip.Addr // underlay address
	port uint16
	v4   netip.Addr // tunnel addresses
	v6   netip.Addr
	seen map[string]bool // packets expected on this node before
}

func testLogger(t testing.TB) *Logger {
	if os.Getenv("WARREN_TEST_LOG") == "" {
		return nil
	}
	return &Logger{
		Verbosef: func(f string, a ...any) { t.Logf("V: "+f, a...) },
		Errorf:   func(f string, a ...any) { t.Logf("E: "+f, a...) },
	}
}

func newNode(t testing.TB, n *netsim.Network, i int, clk clock.Clock) *node {
	t.Helper()
	return newNodeWith(t, n, i, clk, nodeConfig{})
}

// nodeConfig is what newNodeWith may change about a node's device.
type nodeConfig struct {
	// wrap, if set, wraps the device's bind; nd.bind stays the netsim bind.
	wrap   func(*netsim.Bind) bind.Bind
	keyLog io.Writer // Options.KeyLog
	logger *Logger   // Options.Logger; nil: testLogger
}

// newNodeWith is newNode with cfg applied.
func newNodeWith(t testing.TB, n *netsim.Network, i int, clk clock.Clock, cfg nodeConfig) *node {
	t.Helper()
	priv, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nd := &node{
		priv: priv,
		pub:  priv.PublicKey(),
		addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
		port: uint16(51820 + i),
		v4:   netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}),
		v6:   netip.AddrFrom16([16]byte{0xfd, 0, 15: byte(i)}),
	}
	nd.tun = tun.NewMemory(fmt.Sprintf("wt%d", i), 1420)
	nd.bind = n.NewBind(nd.addr)
	var b bind.Bind = nd.bind
	if cfg.wrap != nil {
		b = cfg.wrap(nd.bind)
	}
	logger := cfg.logger
	if logger == nil {
		logger = testLogger(t)
	}
	d, err := New(nd.tun, b, Options{Clock: clk, Logger: logger, InlineBatch: testInlineBatch, KeyLog: cfg.keyLog})
	if err != nil {
		t.Fatal(err)
	}
	nd.d = d
	t.Cleanup(func() { d.Close() })
	if err := d.Apply(&wgtypes.Config{PrivateKey: &nd.priv, ListenPort: &nd.port}); err != nil {
		t.Fatal(err)
	}
	if err := d.Up(); err != nil {
		t.Fatal(err)
	}
	return nd
}

// peerOf is the PeerConfig that makes other a peer of a node.
func peerOf(other *node, keepalive uint16) wgtypes.PeerConfig {
	ep := netip.AddrPortFrom(other.addr, other.port)
	pc := wgtypes.PeerConfig{
		PublicKey:  other.pub,
		Endpoint:   &ep,
		AllowedIPs: []netip.Prefix{netip.PrefixFrom(other.v4, 32), netip.PrefixFrom(other.v6, 128)},
	}
	if keepalive != 0 {
		pc.PersistentKeepaliveInterval = &keepalive
	}
	return pc
}

// connect makes a and b peers of each other.
func connect(t testing.TB, a, b *node) {
	t.Helper()
	if err := a.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{peerOf(b, 0)}}); err != nil {
		t.Fatal(err)
	}
	if err := b.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{peerOf(a, 0)}}); err != nil {
		t.Fatal(err)
	}
}

func newPair(t testing.TB, opts netsim.Options, clk clock.Clock) (*netsim.Network, *node, *node) {
	t.Helper()
	n := netsim.New(opts)
	t.Cleanup(func() { n.Close() })
	a := newNode(t, n, 1, clk)
	b := newNode(t, n, 2, clk)
	connect(t, a, b)
	return n, a, b
}

// ipv4 builds an IPv4 packet (UDP-ish payload, header checksum not needed).
func ipv4(src, dst netip.Addr, payload []byte) []byte {
	p := make([]byte, 20+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8] = 64
	p[9] = 17
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	copy(p[20:], payload)
	return p
}

func ipv6(src, dst netip.Addr, payload []byte) []byte {
	p := make([]byte, 40+len(payload))
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(len(payload)))
	p[6] = 17
	p[7] = 64
	s, d := src.As16(), dst.As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	copy(p[40:], payload)
	return p
}

// recv waits for the next packet a node's TUN gets.
func recv(t testing.TB, nd *node, timeout time.Duration) ([]byte, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	p, err := nd.tun.ReadOutbound(ctx)
	return p, err == nil
}

// expectPacket injects pkt at from until to receives it (the first packets
// wait for a handshake) and checks it arrives intact. Late copies of packets
// expected before (re-injected while waiting) are skipped; anything else is
// an error.
func expectPacket(t testing.TB, from, to *node, pkt []byte) {
	t.Helper()
	if to.seen == nil {
		to.seen = make(map[string]bool)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := from.tun.Inject(pkt); err != nil {
			t.Fatal(err)
		}
		wait := time.Now().Add(500 * time.Millisecond)
		for time.Now().Before(wait) {
			got, ok := recv(t, to, time.Until(wait))
			if !ok {
				break
			}
			if bytes.Equal(got, pkt) {
				to.seen[string(pkt)] = true
				return
			}
			if !to.seen[string(got)] {
				t.Fatalf("unexpected packet:\n got %x\nwant %x", got, pkt)
			}
		}
	}
	t.Fatalf("packet from %v to %v never arrived", from.v4, to.v4)
}

// waitFor polls cond for up to 10 s of real time.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// checkGoroutines fails if goroutines of this package outlive the test.
func checkGoroutines(t *testing.T) {
	t.Helper()
	testenv.CheckGoroutinesIn(t, "internal/device.")
}

// tap counts the datagrams of each message type sent from each address.
type tap struct {
	mu     sync.Mutex
	counts map[netip.Addr]*[5]int
	// keepalives counts transport messages of keepalive size.
	keepalives map[netip.Addr]int
}

func installTap(n *netsim.Network) *tap {
	tp := &tap{counts: make(map[netip.Addr]*[5]int), keepalives: make(map[netip.Addr]int)}
	n.SetFilter(func(src, dst netip.AddrPort, data []byte) bool {
		if len(data) == 0 || data[0] == 0 || data[0] > 4 {
			return true
		}
		tp.mu.Lock()
		defer tp.mu.Unlock()
		c := tp.counts[src.Addr()]
		if c == nil {
			c = new([5]int)
			tp.counts[src.Addr()] = c
		}
		c[data[0]]++
		if data[0] == wire.TypeTransport && len(data) == wire.MinTransportSize {
			tp.keepalives[src.Addr()]++
		}
		return true
	})
	return tp
}

func (tp *tap) count(src netip.Addr, typ int) int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if c := tp.counts[src]; c != nil {
		return c[typ]
	}
	return 0
}

func (tp *tap) keepalivesFrom(src netip.Addr) int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.keepalives[src]
}

// peer returns the device's peer with key pub.
func (nd *node) peer(t testing.TB, pub noise.PublicKey) *Peer {
	t.Helper()
	nd.d.mu.RLock()
	defer nd.d.mu.RUnlock()
	p := nd.d.peers[pub]
	if p == nil {
		t.Fatalf("no peer %v", shortKey(pub))
	}
	return p
}

// sessions returns a peer's previous, current and next sessions.
func (p *Peer) sessions() (prev, cur, next *keypair) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.prev, p.cur, p.next
}

// settle gives the asynchronous pipelines a moment of real time.
func settle() { time.Sleep(20 * time.Millisecond) }

var testEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// idle reports whether the node has nothing in flight: every datagram
// delivered to its socket was read, and no batch, handshake message or
// handshake start is in progress.
func (nd *node) idle() bool {
	if nd.d == nil {
		return true
	}
	return nd.d.inflight.Load() == 0 && nd.bind.Stats().Received == nd.d.datagrams.Load()
}

// advance moves the manual clock forward by total in steps of at most one
// second, letting the devices' asynchronous work settle after each step, as
// it would in real time.
func advance(clk *clock.Manual, total time.Duration, nodes ...*node) {
	for total > 0 {
		step := min(total, time.Second)
		clk.Advance(step)
		total -= step
		quiesce(nodes...)
	}
}

// quiesce waits (briefly) until every device's queues have stayed empty.
func quiesce(nodes ...*node) {
	deadline := time.Now().Add(5 * time.Second)
	calm := 0
	for calm < 3 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Microsecond)
		busy := false
		for _, nd := range nodes {
			if !nd.idle() {
				busy = true
			}
		}
		if busy {
			calm = 0
		} else {
			calm++
		}
	}
}

// randReader is crypto/rand as a value.
type randReader struct{}

func (randReader) Read(b []byte) (int, error) { return rand.Read(b) }
