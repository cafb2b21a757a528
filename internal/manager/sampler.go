package manager

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// DefaultSamplePeriod is how often the Sampler reads the devices.
const DefaultSamplePeriod = time.Second

// Snapshot is what the Sampler read from every device at one moment. One
// Snapshot is shared by all subscribers: read it, never change it.
type Snapshot struct {
	// Time is when the devices were read.
	Time time.Time
	// Devices holds every interface UAPI reached, by name: its peers with
	// their endpoints, allowed IPs, latest handshake and cumulative
	// counters. A device found but not readable maps to nil. Private and
	// preshared keys are zeroed. Counters start again from zero when a
	// device restarts (a counter that went down means it did).
	Devices map[string]*wgtypes.Device
	// Names holds the peers' names from the configuration files
	// (conf.Peer.Name), by interface and public key; peers without one
	// are absent.
	Names map[string]map[noise.PublicKey]string
}

// PeerName is the name of a peer of iface, "" if it has none.
func (s *Snapshot) PeerName(iface string, pub noise.PublicKey) string {
	return s.Names[iface][pub]
}

// Subscriber receives every Snapshot the Sampler takes.
//
// Sample is called from the sampler's goroutine, for one snapshot at a
// time, in the order they were taken. It must return quickly — a
// subscriber with slow work (writing to disk) hands it to a goroutine of
// its own — because the next subscribers and the next sample wait for it.
// It may keep the snapshot (read only).
type Subscriber interface {
	Sample(s *Snapshot)
}

// SubscriberFunc adapts a function to Subscriber.
type SubscriberFunc func(*Snapshot)

// Sample calls f(s).
func (f SubscriberFunc) Sample(s *Snapshot) { f(s) }

// Sampler reads every device at a fixed period and fans the Snapshot out
// to its subscribers; Latest is the last one, for readers that poll (a
// metrics scrape).
type Sampler struct {
	sys    System
	names  func() map[string]map[noise.PublicKey]string
	now    func() time.Time
	period time.Duration

	mu     sync.Mutex
	subs   map[uint64]Subscriber
	nextID uint64
	latest atomic.Pointer[Snapshot]

	sampleMu sync.Mutex // one sample at a time, in order
}

func newSampler(sys System, names func() map[string]map[noise.PublicKey]string, now func() time.Time, period time.Duration) *Sampler {
	if period <= 0 {
		period = DefaultSamplePeriod
	}
	return &Sampler{sys: sys, names: names, now: now, period: period, subs: map[uint64]Subscriber{}}
}

// Period is how often the sampler reads the devices.
func (s *Sampler) Period() time.Duration { return s.period }

// Subscribe adds sub; cancel removes it (after cancel returns, sub is not
// called again).
func (s *Sampler) Subscribe(sub Subscriber) (cancel func()) {
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	s.subs[id] = sub
	s.mu.Unlock()
	return func() {
		s.sampleMu.Lock() // not while a sample is being handed out
		defer s.sampleMu.Unlock()
		s.mu.Lock()
		delete(s.subs, id)
		s.mu.Unlock()
	}
}

// Latest is the last snapshot taken, nil before the first.
func (s *Sampler) Latest() *Snapshot { return s.latest.Load() }

// Recent returns the latest snapshot if it is at most maxAge old by the
// sampler's clock, and otherwise takes one now (handing it to the
// subscribers too).
func (s *Sampler) Recent(maxAge time.Duration) *Snapshot {
	if snap := s.Latest(); snap != nil && s.now().Sub(snap.Time) <= maxAge {
		return snap
	}
	return s.SampleNow()
}

// SampleNow reads every device, hands the snapshot to the subscribers and
// returns it.
func (s *Sampler) SampleNow() *Snapshot {
	s.sampleMu.Lock()
	defer s.sampleMu.Unlock()
	snap := s.read()
	s.latest.Store(snap)
	s.mu.Lock()
	subs := make([]Subscriber, 0, len(s.subs))
	for _, sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	for _, sub := range subs {
		sub.Sample(snap)
	}
	return snap
}

// read takes one snapshot. An interface that cannot be listed leaves the
// snapshot empty; one that cannot be read is there as nil.
func (s *Sampler) read() *Snapshot {
	snap := &Snapshot{Time: s.now(), Devices: map[string]*wgtypes.Device{}, Names: s.names()}
	names, err := s.sys.Interfaces()
	if err != nil {
		return snap
	}
	for _, name := range names {
		dev, err := s.sys.Device(name)
		if err != nil {
			snap.Devices[name] = nil
			continue
		}
		snap.Devices[name] = scrub(dev)
	}
	snap.Time = s.now()
	return snap
}

// scrub zeroes what a snapshot must never carry: the private key and the
// preshared keys.
func scrub(d *wgtypes.Device) *wgtypes.Device {
	d.PrivateKey = noise.PrivateKey{}
	for i := range d.Peers {
		d.Peers[i].PresharedKey = noise.PresharedKey{}
	}
	return d
}

// run samples every period until ctx is done.
func (s *Sampler) run(ctx context.Context) {
	t := time.NewTicker(s.period)
	defer t.Stop()
	for {
		s.SampleNow()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
