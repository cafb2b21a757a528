package device

import (
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/clock"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// TestRejectedPublicKeySaidOnce: a peer whose public key the DH rejects (a
// low-order point: here zero) is accepted, as by wg, and never shakes
// hands; the keys are computed lazily, and the failure is said once and
// not recomputed for every attempt to reach the peer, until the private
// key changes.
func TestRejectedPublicKeySaidOnce(t *testing.T) {
	clk := clock.NewManual(testEpoch)
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	var errs syncBuffer
	a := newNodeWith(t, n, 1, clk, nodeConfig{logger: &Logger{
		Verbosef: func(string, ...any) {},
		Errorf:   func(f string, args ...any) { fmt.Fprintf(&errs, f+"\n", args...) },
	}})
	b := newNode(t, n, 2, clk)
	pc := peerOf(b, 0)
	pc.PublicKey = noise.PublicKey{}
	if err := a.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{pc}}); err != nil {
		t.Fatalf("a peer with a low-order public key: %v", err)
	}
	for i := range 20 {
		if err := a.tun.Inject(ipv4(a.v4, b.v4, []byte(fmt.Sprint("packet ", i)))); err != nil {
			t.Fatal(err)
		}
	}
	// Packets keep coming, over the handshake retry schedule.
	for i := range 30 {
		advance(clk, time.Second, a, b)
		if err := a.tun.Inject(ipv4(a.v4, b.v4, []byte(fmt.Sprint("later ", i)))); err != nil {
			t.Fatal(err)
		}
	}
	quiesce(a, b)
	if c := strings.Count(errs.String(), "\n"); c != 1 {
		t.Errorf("%d error lines for 50 packets over 30 s, want 1:\n%s", c, errs.String())
	}
	// A new private key: tried, and said, again.
	priv, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.d.Apply(&wgtypes.Config{PrivateKey: &priv}); err != nil {
		t.Fatal(err)
	}
	advance(clk, RekeyTimeout+time.Second, a, b)
	if err := a.tun.Inject(ipv4(a.v4, b.v4, []byte("after"))); err != nil {
		t.Fatal(err)
	}
	quiesce(a, b)
	if c := strings.Count(errs.String(), "\n"); c != 2 {
		t.Errorf("%d error lines after a new private key, want 2:\n%s", c, errs.String())
	}
}
