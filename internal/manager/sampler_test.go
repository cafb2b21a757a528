package manager_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

func TestSampler(t *testing.T) {
	f := newFixture(t, nil)
	self, alice := newKey(t), newKey(t)
	f.m.Import("wg0", []byte(config(self, 1, "alice", alice, "10.8.0.2/32")+"PresharedKey = "+self.priv.Base64()+"\n"))
	f.m.Activate(context.Background(), "wg0")
	f.sys.SetStats("wg0", alice.pub, 10, 20, time.Unix(5, 0))

	var mu sync.Mutex
	var got []*manager.Snapshot
	cancel := f.m.Sampler().Subscribe(manager.SubscriberFunc(func(s *manager.Snapshot) {
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
	}))
	snap := f.m.Sampler().SampleNow()
	if f.m.Sampler().Latest() != snap {
		t.Error("Latest is not the last snapshot")
	}
	d := snap.Devices["wg0"]
	if d == nil || len(d.Peers) != 1 {
		t.Fatalf("snapshot devices %+v", snap.Devices)
	}
	p := d.Peers[0]
	if p.RxBytes != 10 || p.TxBytes != 20 || !p.LastHandshakeTime.Equal(time.Unix(5, 0)) || len(p.AllowedIPs) != 1 {
		t.Errorf("peer sample %+v", p)
	}
	// No secret leaves the sampler.
	if !d.PrivateKey.IsZero() || !p.PresharedKey.IsZero() {
		t.Error("the snapshot carries the private or preshared key")
	}
	if d.PublicKey != self.pub {
		t.Error("the public key is missing")
	}
	if snap.PeerName("wg0", alice.pub) != "alice" {
		t.Errorf("names %v", snap.Names)
	}
	cancel()
	f.m.Sampler().SampleNow()
	mu.Lock()
	if len(got) != 1 || got[0] != snap {
		t.Errorf("subscriber got %d snapshots, want exactly the one before cancel", len(got))
	}
	mu.Unlock()
}

// unreadable is a System whose interface listing names a device that
// cannot be read.
type unreadable struct{ manager.System }

func (unreadable) Interfaces() ([]string, error) { return []string{"gone0"}, nil }

func TestSamplerUnreadableDevice(t *testing.T) {
	f := newFixture(t, func(o *manager.Options) { o.System = unreadable{o.System} })
	snap := f.m.Sampler().SampleNow()
	d, ok := snap.Devices["gone0"]
	if !ok || d != nil {
		t.Errorf("an unreadable device is %v, %v in the snapshot; want listed as nil", d, ok)
	}
}

// The sampler runs on its own at the period given.
func TestSamplerPeriod(t *testing.T) {
	f := newFixture(t, func(o *manager.Options) { o.SamplePeriod = 10 * time.Millisecond })
	f.sys.AddDevice("wg9", &wgtypes.Device{Peers: []wgtypes.Peer{{PublicKey: noise.PublicKey{1}}}})
	ch := make(chan *manager.Snapshot, 100)
	defer f.m.Sampler().Subscribe(manager.SubscriberFunc(func(s *manager.Snapshot) {
		select {
		case ch <- s:
		default:
		}
	}))()
	var prev time.Time
	for i := 0; i < 3; i++ {
		select {
		case s := <-ch:
			if !s.Time.After(prev) {
				t.Errorf("snapshot times not increasing: %v then %v", prev, s.Time)
			}
			prev = s.Time
		case <-time.After(5 * time.Second):
			t.Fatal("no snapshot within 5 s at a 10 ms period")
		}
	}
}

func TestSamplerRecent(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	f := newFixture(t, func(o *manager.Options) { o.Now = clock.now })
	first := f.m.Sampler().SampleNow()
	if got := f.m.Sampler().Recent(time.Second); got != first {
		t.Error("a fresh snapshot was not reused")
	}
	clock.add(2 * time.Second)
	if got := f.m.Sampler().Recent(time.Second); got == first || !got.Time.Equal(clock.now()) {
		t.Error("a stale snapshot was reused")
	}
}
