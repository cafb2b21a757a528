package device

import (
	"crypto/rand"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
	"github.com/warren-vpn/warren/internal/wire"
)

const (
	// hsBenchPeers initiators take turns, so that no peer's initiations
	// come closer than HandshakeInitiationRate (the responder would drop
	// them as a flood): that holds up to hsBenchPeers*50 handshakes/s.
	hsBenchPeers = 512
	// hsBenchWindow bounds the initiations sent but not yet answered. It
	// keeps the handshake queue below underLoadThreshold, so the device
	// never goes under load (cookie replies and rate limiting) because of
	// the benchmark itself, while the worker always has work.
	hsBenchWindow = underLoadThreshold / 2
)

// hsBenchIdentities are the initiators' static keys, made once.
var hsBenchIdentities = sync.OnceValue(func() []*noise.Identity {
	ids := make([]*noise.Identity, hsBenchPeers)
	for i := range ids {
		k, err := noise.NewPrivateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		ids[i] = noise.NewIdentity(k)
	}
	return ids
})

// BenchmarkDeviceResponder measures a Device answering handshake
// initiations: valid initiations from its hsBenchPeers configured peers
// arrive through the bind, and each op is one response received back. It
// covers the whole responder path: receive, demux, MAC1, the handshake
// queue and worker (consume, peer lookup, timestamp and flood checks,
// response, session setup and timers) and sending the response. With -cpu
// 1 it is what one core sustains; compare BenchmarkResponder and
// BenchmarkResponderX25519 in internal/noise.
//
// The initiations are made before the timer starts. The sender and the
// goroutine counting responses run on the same cores as the device; their
// work (a netsim send and receive per handshake) is small next to the
// handshake's but is included.
func BenchmarkDeviceResponder(b *testing.B) {
	n := netsim.New(netsim.Options{})
	b.Cleanup(func() { n.Close() })
	resp := newNode(b, n, 1, nil) // real clock: the flood check runs as in use
	ids := hsBenchIdentities()
	peers := make([]wgtypes.PeerConfig, len(ids))
	keys := make([]*noise.PeerKeys, len(ids))
	for i, id := range ids {
		peers[i] = wgtypes.PeerConfig{PublicKey: id.Public}
		var err error
		if keys[i], err = noise.NewPeerKeys(id, resp.pub, noise.PresharedKey{}); err != nil {
			b.Fatal(err)
		}
	}
	if err := resp.d.Apply(&wgtypes.Config{Peers: peers}); err != nil {
		b.Fatal(err)
	}

	// Initiation i comes from peer i%hsBenchPeers, round i/hsBenchPeers:
	// timestamps a second apart keep each peer's increasing.
	gen := noise.NewCookieGenerator(resp.pub)
	base := time.Now()
	msgs := make([][]byte, b.N)
	for i := range msgs {
		p := i % hsBenchPeers
		now := base.Add(time.Duration(i/hsBenchPeers) * time.Second)
		m, st, err := noise.CreateInitiation(ids[p], keys[p], uint32(i+1), now, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		st.Zero()
		msgs[i] = m.Marshal(make([]byte, wire.InitiationSize))
		gen.AddMACs(msgs[i], now)
	}

	src := n.NewBind(netip.AddrFrom4([4]byte{192, 0, 2, 100}))
	fns, _, err := src.Open(0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { src.Close() })
	dst := netsim.NewEndpoint(netip.AddrPortFrom(resp.addr, resp.port))

	credit := make(chan struct{}, hsBenchWindow)
	for range hsBenchWindow {
		credit <- struct{}{}
	}
	var (
		mu       sync.Mutex
		answered int
		cookies  int
		wrong    int
	)
	done := make(chan struct{})
	go func() {
		bufs := [][]byte{make([]byte, MaxMessageSize)}
		sizes := make([]int, 1)
		eps := make([]bind.Endpoint, 1)
		for {
			if _, err := fns[0](bufs, sizes, eps); err != nil {
				return
			}
			msg := bufs[0][:sizes[0]]
			mu.Lock()
			switch {
			case len(msg) == wire.ResponseSize && msg[0] == wire.TypeResponse:
				rm, err := wire.ParseResponse(msg)
				if err != nil || rm.Receiver == 0 || int(rm.Receiver) > len(msgs) {
					wrong++
				} else {
					answered++
				}
			case len(msg) > 0 && msg[0] == wire.TypeCookieReply:
				cookies++
			default:
				wrong++
			}
			all := answered == len(msgs)
			mu.Unlock()
			if all {
				close(done)
				return
			}
			select {
			case credit <- struct{}{}:
			default: // more messages than initiations (counted as wrong)
			}
		}
	}()

	counts := func() (int, int, int) {
		mu.Lock()
		defer mu.Unlock()
		return answered, cookies, wrong
	}
	stuck := func() {
		a, c, w := counts()
		b.Fatalf("no response for 5 s: %d of %d answered, %d cookie replies, %d unexpected", a, len(msgs), c, w)
	}

	b.ResetTimer()
	for _, msg := range msgs {
		select {
		case <-credit:
		default:
			select {
			case <-credit:
			case <-time.After(5 * time.Second):
				stuck()
			}
		}
		if err := src.Send([][]byte{msg}, dst); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		stuck()
	}
	b.StopTimer()
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "hs/s")
	if _, cookies, wrong := counts(); cookies != 0 || wrong != 0 {
		b.Fatalf("%d cookie replies, %d unexpected messages: the device went under load", cookies, wrong)
	}
	if rate > hsBenchPeers*50/2 && b.N > 2*hsBenchPeers {
		b.Logf("%.0f hs/s is close to what %d peers may send without tripping the flood check: raise hsBenchPeers", rate, hsBenchPeers)
	}
}
