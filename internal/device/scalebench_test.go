package device

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
	"github.com/warren-vpn/warren/internal/wire"
)

// Scale (issue 15): what a device costs with many idle peers configured.

// fillerPeers returns n peers with random public keys (any 32 bytes are a
// valid Curve25519 public key) and one /32 each in 10.64.0.0/10, as
// test/bench/genpeers makes them.
func fillerPeers(tb testing.TB, n int) []wgtypes.PeerConfig {
	tb.Helper()
	keys := make([]byte, 32*n)
	if _, err := rand.Read(keys); err != nil {
		tb.Fatal(err)
	}
	pcs := make([]wgtypes.PeerConfig, n)
	for i := range pcs {
		copy(pcs[i].PublicKey[:], keys[32*i:])
		a := netip.AddrFrom4([4]byte{10, byte(64 + i>>16), byte(i >> 8), byte(i)})
		pcs[i].AllowedIPs = []netip.Prefix{netip.PrefixFrom(a, 32)}
	}
	return pcs
}

// envInt reads a positive integer from the environment, or def.
func envInt(tb testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		tb.Fatalf("%s=%q: not a count", name, s)
	}
	return n
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestScaleMemoryPerPeer measures the heap an idle peer with one /32
// costs on a device that is up, and holds it under a bound. SCALE_MEM_PEERS
// sets the count (default 20000) and SCALE_HEAP_PROFILE, if set, names a
// file for a heap profile taken with the peers configured.
func TestScaleMemoryPerPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("configures many peers")
	}
	n := envInt(t, "SCALE_MEM_PEERS", 20000)
	nt := netsim.New(netsim.Options{})
	t.Cleanup(func() { nt.Close() })
	nd := newNode(t, nt, 1, nil)
	pcs := fillerPeers(t, n)
	before := heapInUse()
	if err := nd.d.Apply(&wgtypes.Config{Peers: pcs}); err != nil {
		t.Fatal(err)
	}
	pcs = nil
	after := heapInUse()
	per := float64(after-before) / float64(n)
	t.Logf("%d idle peers: %.0f bytes of heap each", n, per)
	if path := os.Getenv("SCALE_HEAP_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if got := len(nd.d.State().Peers); got != n {
		t.Fatalf("%d peers configured, want %d", got, n)
	}
	const limit = 1024
	if per > limit {
		t.Errorf("an idle peer costs %.0f bytes of heap, want at most %d", per, limit)
	}
	runtime.KeepAlive(pcs)
}

// BenchmarkScaleResponder is BenchmarkDeviceResponder's measurement with
// and without SCALE_BENCH_PEERS (default 100000) idle peers configured
// besides the hsBenchPeers initiators: responder handshakes/s must not
// depend on how many peers the device knows. Each device is set up once
// and measured three times, alternating, so that drift in a shared
// machine's speed hits both alike: compare the medians of the hs/s of
// extra=0 and extra=N.
func BenchmarkScaleResponder(b *testing.B) {
	extra := envInt(b, "SCALE_BENCH_PEERS", 100000)
	fxs := []*responderFixture{newResponderFixture(b, 0), newResponderFixture(b, extra)}
	for range 3 {
		for _, fx := range fxs {
			b.Run(fmt.Sprintf("extra=%d", fx.extra), fx.run)
		}
	}
}

// responderFixture is a responder device with its initiators, reused from
// run to run (timestamps keep increasing across runs).
type responderFixture struct {
	extra int
	resp  *node
	ids   []*noise.Identity
	keys  []*noise.PeerKeys
	src   *netsim.Bind
	recv  bind.ReceiveFunc
	dst   bind.Endpoint
	round int // initiation rounds made so far
	base  time.Time
}

func newResponderFixture(b *testing.B, extra int) *responderFixture {
	n := netsim.New(netsim.Options{})
	b.Cleanup(func() { n.Close() })
	fx := &responderFixture{extra: extra, resp: newNode(b, n, 1, nil), ids: hsBenchIdentities(), base: time.Now()}
	if extra > 0 {
		if err := fx.resp.d.Apply(&wgtypes.Config{Peers: fillerPeers(b, extra)}); err != nil {
			b.Fatal(err)
		}
	}
	peers := make([]wgtypes.PeerConfig, len(fx.ids))
	fx.keys = make([]*noise.PeerKeys, len(fx.ids))
	for i, id := range fx.ids {
		peers[i] = wgtypes.PeerConfig{PublicKey: id.Public}
		var err error
		if fx.keys[i], err = noise.NewPeerKeys(id, fx.resp.pub, noise.PresharedKey{}); err != nil {
			b.Fatal(err)
		}
	}
	if err := fx.resp.d.Apply(&wgtypes.Config{Peers: peers}); err != nil {
		b.Fatal(err)
	}
	fx.src = n.NewBind(netip.AddrFrom4([4]byte{192, 0, 2, 100}))
	fns, _, err := fx.src.Open(0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fx.src.Close() })
	fx.recv = fns[0]
	fx.dst = netsim.NewEndpoint(netip.AddrPortFrom(fx.resp.addr, fx.resp.port))
	return fx
}

func (fx *responderFixture) run(b *testing.B) {
	gen := noise.NewCookieGenerator(fx.resp.pub)
	msgs := make([][]byte, b.N)
	for i := range msgs {
		p := i % hsBenchPeers
		if p == 0 {
			fx.round++
		}
		now := fx.base.Add(time.Duration(fx.round) * time.Second)
		m, st, err := noise.CreateInitiation(fx.ids[p], fx.keys[p], uint32(i+1), now, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		st.Zero()
		msgs[i] = m.Marshal(make([]byte, wire.InitiationSize))
		gen.AddMACs(msgs[i], now)
	}
	// The flood check wants a peer's initiations 20 ms apart in real time.
	time.Sleep(2 * HandshakeInitiationRate)

	credit := make(chan struct{}, hsBenchWindow)
	for range hsBenchWindow {
		credit <- struct{}{}
	}
	var (
		mu              sync.Mutex
		answered, other int
	)
	done := make(chan struct{})
	go func() {
		bufs := [][]byte{make([]byte, MaxMessageSize)}
		sizes := make([]int, 1)
		eps := make([]bind.Endpoint, 1)
		for {
			if _, err := fx.recv(bufs, sizes, eps); err != nil {
				return
			}
			msg := bufs[0][:sizes[0]]
			mu.Lock()
			if len(msg) == wire.ResponseSize && msg[0] == wire.TypeResponse {
				answered++
			} else {
				other++
			}
			all := answered == len(msgs)
			mu.Unlock()
			if all {
				close(done)
				return
			}
			select {
			case credit <- struct{}{}:
			default:
			}
		}
	}()
	stuck := func() {
		mu.Lock()
		defer mu.Unlock()
		b.Fatalf("no response for 5 s: %d of %d answered, %d other messages", answered, len(msgs), other)
	}
	b.ResetTimer()
	for _, msg := range msgs {
		select {
		case <-credit:
		case <-time.After(5 * time.Second):
			stuck()
		}
		if err := fx.src.Send([][]byte{msg}, fx.dst); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		stuck()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hs/s")
	mu.Lock()
	defer mu.Unlock()
	if other != 0 {
		b.Fatalf("%d messages other than responses: the device went under load", other)
	}
}

// BenchmarkScaleApply measures what a `wg setconf` of SCALE_BENCH_PEERS
// (default 100000) peers costs the device: parsing the UAPI request and
// applying it to a fresh device that is up.
func BenchmarkScaleApply(b *testing.B) {
	n := envInt(b, "SCALE_BENCH_PEERS", 100000)
	var body strings.Builder
	for _, pc := range fillerPeers(b, n) {
		fmt.Fprintf(&body, "public_key=%s\nreplace_allowed_ips=true\nallowed_ip=%s\n", pc.PublicKey.Hex(), pc.AllowedIPs[0])
	}
	body.WriteString("\n")
	for b.Loop() {
		b.StopTimer()
		nt := netsim.New(netsim.Options{})
		nd := newNode(b, nt, 1, nil)
		b.StartTimer()
		cfg, err := uapi.ParseSet(strings.NewReader(body.String()))
		if err != nil {
			b.Fatal(err)
		}
		if err := nd.d.Apply(cfg); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		nd.d.Close()
		nt.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/peer")
}

// TestScaleUAPIMemory (run with SCALE_UAPI_PEERS=N) configures N peers
// through the UAPI server, as `wg setconf` does, and logs where the
// process's memory is: the heap in use, what the heap keeps free, the
// runtime's own, and the resident set.
func TestScaleUAPIMemory(t *testing.T) {
	n := envInt(t, "SCALE_UAPI_PEERS", 0)
	if n == 0 {
		t.Skip("set SCALE_UAPI_PEERS")
	}
	nt := netsim.New(netsim.Options{})
	t.Cleanup(func() { nt.Close() })
	nd := newNode(t, nt, 1, nil)
	var body strings.Builder
	body.WriteString("set=1\n")
	for _, pc := range fillerPeers(t, n) {
		fmt.Fprintf(&body, "public_key=%s\nreplace_allowed_ips=true\nallowed_ip=%s\n", pc.PublicKey.Hex(), pc.AllowedIPs[0])
	}
	body.WriteString("\n")
	req := body.String()
	body.Reset()
	cli, srv := net.Pipe()
	go uapi.ServeConn(srv, nd.d, t.Logf)
	go func() { io.WriteString(cli, req) }()
	ans := make([]byte, 64)
	k, err := cli.Read(ans)
	if err != nil || string(ans[:k]) != "errno=0\n\n" {
		t.Fatalf("answer %q, %v", ans[:k], err)
	}
	cli.Close()
	req = ""
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := ""
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS:") {
				rss = strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:"))
			}
		}
	}
	mb := func(v uint64) string { return fmt.Sprintf("%.1f MiB (%d B/peer)", float64(v)/(1<<20), v/uint64(n)) }
	var live uint64
	for _, c := range ms.BySize {
		live += uint64(c.Size) * (c.Mallocs - c.Frees)
	}
	t.Logf("%d peers: heap in use %s, of it in live small objects %s; heap free, kept %s; runtime %s; RSS %s",
		n, mb(ms.HeapInuse), mb(live), mb(ms.HeapIdle-ms.HeapReleased), mb(ms.GCSys+ms.StackSys+ms.MSpanSys+ms.MCacheSys+ms.OtherSys+ms.BuckHashSys), rss)
	if testing.Verbose() {
		for _, c := range ms.BySize {
			if live := c.Mallocs - c.Frees; live > uint64(n)/10 {
				t.Logf("size class %d: %d live (%.2f a peer)", c.Size, live, float64(live)/float64(n))
			}
		}
	}
}

// BenchmarkScaleGet measures the server's side of a `wg show dump` of
// SCALE_BENCH_PEERS (default 100000) peers: the get answer streamed from
// the device into a discarding writer.
func BenchmarkScaleGet(b *testing.B) {
	n := envInt(b, "SCALE_BENCH_PEERS", 100000)
	nt := netsim.New(netsim.Options{})
	b.Cleanup(func() { nt.Close() })
	nd := newNode(b, nt, 1, nil)
	if err := nd.d.Apply(&wgtypes.Config{Peers: fillerPeers(b, n)}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := uapi.WriteGetStream(io.Discard, nd.d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/peer")
}

// BenchmarkScaleSendPath is BenchmarkSendPath's measurement (one active
// peer's packets, TUN to bind, with a TUN and a bind that cost nothing)
// on a device with and without SCALE_BENCH_PEERS (default 100000) idle
// peers, one /32 each, in its routing table: the active peer's throughput
// must not depend on them. Each device is set up once and measured three
// times, alternating; compare the medians.
func BenchmarkScaleSendPath(b *testing.B) {
	extra := envInt(b, "SCALE_BENCH_PEERS", 100000)
	runs := []func(*testing.B){sendPathWith(b, 0), sendPathWith(b, extra)}
	for range 3 {
		for i, run := range runs {
			b.Run(fmt.Sprintf("extra=%d", []int{0, extra}[i]), run)
		}
	}
}

// sendPathWith sets up BenchmarkSendPath's device with extra idle peers
// and returns the measurement, to be run any number of times.
func sendPathWith(b *testing.B, extra int) func(*testing.B) {
	priv, _ := noise.NewPrivateKey(randReader{})
	peerPub := newKeyTB(b)
	src := newSourceTUN(ipv4(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), make([]byte, 1400)))
	sink := &sinkBind{}
	d, err := New(src, sink, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	ep := netip.MustParseAddrPort("192.0.2.2:51820")
	peers := append(fillerPeers(b, extra), wgtypes.PeerConfig{
		PublicKey: peerPub, Endpoint: &ep, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.2/32")},
	})
	if err := d.Apply(&wgtypes.Config{PrivateKey: &priv, Peers: peers}); err != nil {
		b.Fatal(err)
	}
	if err := d.Up(); err != nil {
		b.Fatal(err)
	}
	d.mu.RLock()
	p := d.peers[peerPub]
	d.mu.RUnlock()
	kp, err := newKeypair(p, &noise.Keypair{Send: [32]byte{1}, Receive: [32]byte{2}, LocalIndex: 1, RemoteIndex: 2, Initiator: true}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	p.installKeypair(kp)
	return func(b *testing.B) {
		start := sink.sent.Load()
		b.SetBytes(int64(len(src.pkt)))
		b.ReportAllocs()
		b.ResetTimer()
		for left := b.N; left > 0; {
			n := min(left, 64)
			src.give(n)
			left -= n
		}
		for sink.sent.Load()-start < int64(b.N) {
			time.Sleep(10 * time.Microsecond)
		}
		b.StopTimer()
	}
}
