package device

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

var (
	_ uapi.StateStreamer = (*Device)(nil)
	_ uapi.PeerLimiter   = (*Device)(nil)
)

// TestStreamStateMatchesState: the stream lists what State lists, in
// public-key order, and State's answer does not share the stream's
// reused buffers.
func TestStreamStateMatchesState(t *testing.T) {
	nt := netsim.New(netsim.Options{})
	t.Cleanup(func() { nt.Close() })
	nd := newNode(t, nt, 1, nil)
	ps := fillerPeers(t, 300)
	ps[7].AllowedIPs = append(ps[7].AllowedIPs, netip.MustParsePrefix("10.200.0.0/16"))
	if err := nd.d.Apply(&wgtypes.Config{Peers: ps}); err != nil {
		t.Fatal(err)
	}
	st := nd.d.State()
	if len(st.Peers) != len(ps) {
		t.Fatalf("State: %d peers, want %d", len(st.Peers), len(ps))
	}
	if !slices.IsSortedFunc(st.Peers, func(a, b wgtypes.Peer) int { return bytes.Compare(a.PublicKey[:], b.PublicKey[:]) }) {
		t.Fatal("State's peers are not in public-key order")
	}
	var dev wgtypes.Device
	var got []wgtypes.Peer
	err := nd.d.StreamState(func(d *wgtypes.Device) error { dev = *d; return nil }, func(p *wgtypes.Peer) error {
		c := *p
		c.AllowedIPs = slices.Clone(p.AllowedIPs)
		got = append(got, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if dev.PrivateKey != nd.priv || dev.ListenPort != nd.port || len(dev.Peers) != 0 {
		t.Fatalf("device part: port %d, %d peers, key matches %v", dev.ListenPort, len(dev.Peers), dev.PrivateKey == nd.priv)
	}
	for i := range got {
		if got[i].PublicKey != st.Peers[i].PublicKey || !slices.Equal(got[i].AllowedIPs, st.Peers[i].AllowedIPs) {
			t.Fatalf("peer %d: streamed %v %v, State %v %v", i, got[i].PublicKey, got[i].AllowedIPs, st.Peers[i].PublicKey, st.Peers[i].AllowedIPs)
		}
		if len(got[i].AllowedIPs) == 0 {
			t.Fatalf("peer %d has no allowed IPs", i)
		}
	}
}

// TestStreamStateHoldsNoLock: while a reader takes its time over the
// stream, Apply goes on (the device lock is not held); a peer removed
// meanwhile is left out and one added is not in this stream.
func TestStreamStateHoldsNoLock(t *testing.T) {
	nt := netsim.New(netsim.Options{})
	t.Cleanup(func() { nt.Close() })
	nd := newNode(t, nt, 1, nil)
	ps := fillerPeers(t, 10)
	if err := nd.d.Apply(&wgtypes.Config{Peers: ps[:9]}); err != nil {
		t.Fatal(err)
	}
	order := nd.d.State().Peers
	last := order[len(order)-1].PublicKey
	n := 0
	errStop := errors.New("stop")
	err := nd.d.StreamState(func(*wgtypes.Device) error { return nil }, func(p *wgtypes.Peer) error {
		if p.PublicKey == last {
			t.Fatal("a peer removed after the snapshot was streamed")
		}
		if n++; n == 1 {
			done := make(chan error, 1)
			go func() {
				done <- nd.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: last, Remove: true}, ps[9]}})
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Apply blocked behind a get being streamed")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Fatalf("streamed %d peers, want 8 (9 in the snapshot, 1 removed)", n)
	}
	// A reader's error ends the stream and is returned.
	n = 0
	err = nd.d.StreamState(func(*wgtypes.Device) error { return nil }, func(p *wgtypes.Peer) error {
		n++
		return errStop
	})
	if !errors.Is(err, errStop) || n != 1 {
		t.Fatalf("StreamState = %v after %d peers, want the reader's error after 1", err, n)
	}
}
