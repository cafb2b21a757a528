package proxy

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/clock"
	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/testenv"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// The timing of a dial through a peer that never answers is checked on
// the engine's injected clock (clock.Manual), not the wall clock: the
// engine's handshake retries and the proxy's handshake wait fire exactly
// when the test advances the clock past them, so the test proves that the
// dial ends at the wait (and not before, nor at the dial timeout, which is
// set far away on the real clock) without sleeping and without a timing
// margin that a slow machine could exceed. Only the wait for real
// loopback UDP and gVisor goroutines uses real time, with generous bounds
// that a correct implementation meets by orders of magnitude.

// blackhole is a UDP socket that answers nothing and counts the
// handshake initiations it receives: a peer that is down.
type blackhole struct {
	pc          net.PacketConn
	initiations atomic.Int32
}

func newBlackhole(t *testing.T) *blackhole {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{pc: pc}
	testenv.ServePackets(t, pc, func(p []byte, _ net.Addr) []byte {
		if isInitiation(p) {
			b.initiations.Add(1)
		}
		return nil
	})
	return b
}

func (b *blackhole) addr() netip.AddrPort { return b.pc.LocalAddr().(*net.UDPAddr).AddrPort() }

// await waits (in real time) until n initiations have arrived.
func (b *blackhole) await(t *testing.T, n int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.initiations.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the peer received %d handshake initiations, want %d", b.initiations.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// deadTunnel opens a tunnel on clk whose one peer (10.9.0.0/24, the DNS
// server 10.9.0.1) is a blackhole, with a dial timeout far beyond any
// test's duration.
func deadTunnel(t *testing.T, clk clock.Clock) (*Tunnel, *blackhole, noise.PublicKey) {
	t.Helper()
	bh := newBlackhole(t)
	priv, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	peerPriv, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	peer := peerPriv.PublicKey()
	text := fmt.Sprintf("[Interface]\nPrivateKey = %s\nAddress = 10.9.0.2/32\nDNS = 10.9.0.1\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.9.0.0/24\nEndpoint = %v\n",
		base64.StdEncoding.EncodeToString(priv[:]), peer, bh.addr())
	f, err := conf.Parse("dead.conf", []byte(text), conf.Options{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	tun, err := OpenTunnel(context.Background(), f, TunnelOptions{Clock: clk, DialTimeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tun.Close() })
	return tun, bh, peer
}

type dialResult struct {
	c   net.Conn
	err error
}

func startDial(tun *Tunnel, address string) <-chan dialResult {
	res := make(chan dialResult, 1)
	go func() {
		c, err := tun.DialContext(context.Background(), "tcp", address)
		res <- dialResult{c, err}
	}()
	return res
}

// pending checks that the dial has not ended. It cannot fail because of a
// slow machine: a correct dial is still waiting for the clock.
func pending(t *testing.T, res <-chan dialResult, when string) {
	t.Helper()
	select {
	case r := <-res:
		t.Fatalf("%s: the dial ended already: %v", when, r.err)
	case <-time.After(50 * time.Millisecond):
	}
}

func result(t *testing.T, res <-chan dialResult) error {
	t.Helper()
	select {
	case r := <-res:
		if r.err == nil {
			r.c.Close()
			t.Fatal("the dial through a dead peer succeeded")
		}
		return r.err
	case <-time.After(20 * time.Second):
		t.Fatal("the dial did not end after the handshake wait")
	}
	return nil
}

// TestDialHandshakeWait: a dial through a peer that never answers fails
// when the handshake wait (3 s on the engine's clock) has passed, not
// before and not at the dial timeout; the error names the peer, its
// endpoint and how many initiations it was sent since the tunnel started
// (as many as it received), and what a client is told names neither.
func TestDialHandshakeWait(t *testing.T) {
	testenv.CheckGoroutines(t)
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tun, bh, peer := deadTunnel(t, clk)

	res := startDial(tun, "10.9.0.1:80")
	bh.await(t, 1) // the SYN made the engine start a handshake
	clk.Advance(DefaultHandshakeWait - time.Millisecond)
	pending(t, res, "just before the wait")
	clk.Advance(time.Millisecond)
	err := result(t, res)
	checkHandshakeError(t, err, peer, bh, 1, "1 attempt")

	// Another dial waits its own 6 s, across the engine's retry at 5 s
	// (plus at most 334 ms of jitter) after its first initiation, which
	// is counted too.
	tun.handshakeWait = 6 * time.Second
	res = startDial(tun, "10.9.0.1:80")
	pending(t, res, "at the start of the second dial")
	clk.Advance(2500 * time.Millisecond)
	bh.await(t, 2)
	pending(t, res, "after the engine's retry")
	clk.Advance(3500*time.Millisecond - time.Millisecond)
	pending(t, res, "just before the second wait")
	clk.Advance(time.Millisecond)
	err = result(t, res)
	checkHandshakeError(t, err, peer, bh, 2, "2 attempts")
}

// checkHandshakeError checks the error of a dial to 10.9.0.1:80 that a
// dead peer failed, after attempts initiations.
func checkHandshakeError(t *testing.T, err error, peer noise.PublicKey, bh *blackhole, attempts int, text string) {
	t.Helper()
	var de *DialError
	if !errors.As(err, &de) || !errors.Is(err, ErrNoHandshake) || de.Handshake == nil {
		t.Fatalf("dial error %v, want a DialError for ErrNoHandshake with the handshake", err)
	}
	if got := int(bh.initiations.Load()); de.Handshake.Attempts != attempts || got != attempts {
		t.Errorf("error counts %d attempts, the peer received %d; want %d", de.Handshake.Attempts, got, attempts)
	}
	want := fmt.Sprintf("dial tcp 10.9.0.1:80: handshake with peer %s at %v has not completed after %s", peer, bh.addr(), text)
	if de.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", de.Error(), want)
	}
	public := "dial tcp 10.9.0.1:80: the tunnel's peer has not answered a handshake (" + text + ")"
	if got := clientReason(err); got != public {
		t.Errorf("clientReason = %q, want %q", got, public)
	}
}

// TestDialNameHandshakeWait: a name is resolved through the tunnel's DNS
// server, whose peer never answers: the lookup fails at the handshake
// wait, and the error says the DNS server could not be reached because of
// that peer's handshake (the client's version without key or endpoint).
func TestDialNameHandshakeWait(t *testing.T) {
	testenv.CheckGoroutines(t)
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tun, bh, peer := deadTunnel(t, clk)
	res := startDial(tun, "web.example:443")
	bh.await(t, 1)
	clk.Advance(DefaultHandshakeWait - time.Millisecond)
	pending(t, res, "just before the wait")
	clk.Advance(time.Millisecond)
	err := result(t, res)
	var de *DialError
	if !errors.As(err, &de) || !errors.Is(err, ErrResolve) || de.Handshake == nil || de.DNSServer != netip.MustParseAddr("10.9.0.1") {
		t.Fatalf("dial error %v, want ErrResolve blaming the DNS server's handshake", err)
	}
	want := fmt.Sprintf("dial tcp web.example:443: name not resolved: the tunnel's DNS server 10.9.0.1 could not be reached: "+
		"handshake with peer %s at %v has not completed after 1 attempt", peer, bh.addr())
	if de.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", de.Error(), want)
	}
	public := "dial tcp web.example:443: name not resolved: the tunnel's DNS server could not be reached: " +
		"the tunnel's peer has not answered a handshake (1 attempt)"
	if got := clientReason(err); got != public {
		t.Errorf("clientReason = %q, want %q", got, public)
	}
}

// TestDialNoEndpoint: a peer without an endpoint cannot be sent a
// handshake; the error says only it can start one, at once after the wait.
func TestDialNoEndpoint(t *testing.T) {
	testenv.CheckGoroutines(t)
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	priv, _ := noise.NewPrivateKey(rand.Reader)
	peerPriv, _ := noise.NewPrivateKey(rand.Reader)
	text := fmt.Sprintf("[Interface]\nPrivateKey = %s\nAddress = 10.9.0.2/32\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.9.0.0/24\n",
		base64.StdEncoding.EncodeToString(priv[:]), peerPriv.PublicKey())
	f, err := conf.Parse("noendpoint.conf", []byte(text), conf.Options{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	tun, err := OpenTunnel(context.Background(), f, TunnelOptions{Clock: clk, DialTimeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	res := startDial(tun, "10.9.0.7:22")
	pending(t, res, "before the wait")
	clk.Advance(DefaultHandshakeWait)
	err = result(t, res)
	var de *DialError
	if !errors.As(err, &de) || de.Handshake == nil || de.Handshake.Endpoint != "" ||
		!strings.HasSuffix(de.Error(), "has not completed: it has no endpoint, so only it can start one") ||
		clientReason(err) != "dial tcp 10.9.0.7:22: the tunnel's peer has not connected (it has no endpoint to be reached at)" {
		t.Errorf("dial error %v (client: %q)", err, clientReason(err))
	}
}

// TestDialWaitOnlyWithoutSession: the wait applies only to a peer with no
// session; hasSession follows REJECT_AFTER_TIME.
func TestDialWaitOnlyWithoutSession(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		last time.Time
		want bool
	}{
		{time.Time{}, false},
		{now.Add(-time.Second), true},
		{now.Add(-device.RejectAfterTime + time.Second), true},
		{now.Add(-device.RejectAfterTime), false},
	} {
		p := peerWithHandshake(tc.last)
		if got := hasSession(&p, now); got != tc.want {
			t.Errorf("last handshake %v: hasSession = %v, want %v", tc.last, got, tc.want)
		}
	}
	if DefaultHandshakeWait >= device.RekeyTimeout || DefaultHandshakeWait+time.Second > 5*time.Second {
		t.Errorf("DefaultHandshakeWait %v: want under 4 s, so that clients hear within 5 s", DefaultHandshakeWait)
	}
}

func peerWithHandshake(last time.Time) wgtypes.Peer { return wgtypes.Peer{LastHandshakeTime: last} }
