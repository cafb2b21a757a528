// Package device is warren's WireGuard engine: peers and their sessions,
// the handshake and cookie exchange, the timers of whitepaper §6, and the
// batched, parallel send and receive pipelines between a tun.Device and a
// bind.Bind.
//
// It uses only the protocol packages (noise, wire, replay, routing,
// ratelimit), clock for time, and the tun and bind seams; it makes no system
// calls of its own and runs unchanged on every platform. A Device owns every
// goroutine, timer and buffer it starts, and Close stops them all.
package device

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/clock"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/ratelimit"
	"github.com/warren-vpn/warren/internal/routing"
	"github.com/warren-vpn/warren/internal/tun"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// ErrClosed is returned by operations on a closed Device.
var ErrClosed = errors.New("device closed")

// Options are a Device's dependencies; zero values pick the real clock,
// crypto/rand and a silent logger.
type Options struct {
	Clock  clock.Clock
	Rand   io.Reader
	Logger *Logger
	// InlineBatch: batches of up to this many packets are sealed or
	// opened on the goroutine that produced them (the TUN reader, a UDP
	// receiver) and, when their direction is idle, sent or written there
	// too, without a hand-off; bigger batches are split among the crypto
	// workers. Zero picks the default: every batch on machines with up to
	// two cores, where workers would only compete with the producer and
	// the other direction for the same cores (measured: +30% TCP
	// throughput on two cores), and minJobSize packets on bigger ones.
	// Negative: never.
	InlineBatch int
	// KeyLog, when not nil, receives the keys of every handshake the
	// device takes part in, in the format of Wireshark's WireGuard key
	// log (keylog.go): with them anyone who has the traffic can decrypt
	// it, so only set it when the user asked for it, to a file only they
	// can read. Writes are serialized, one handshake per Write.
	KeyLog io.Writer
	// MaxPeers bounds the peers the device holds: an Apply that would
	// leave more is refused whole (ErrTooManyPeers). Zero picks
	// DefaultMaxPeers.
	MaxPeers int
}

// DefaultMaxPeers is the peer limit of a Device whose Options do not set
// one: 2^20, a little over a million.
const DefaultMaxPeers = 1 << 20

// ErrTooManyPeers is wrapped (with wgtypes.ErrInvalidConfig) by an Apply
// refused because the device would hold more than its MaxPeers peers.
var ErrTooManyPeers = errors.New("too many peers")

// Device is a WireGuard interface: a TUN device, a UDP bind, and the peers
// between them.
//
// Locks, outermost first: d.mu → p.hsMu → p.mu; d.tx.mu → p.mu; d.rx.mu → d.tx.mu;
// d.tableMu → p.mu; p.tmu, kp.mu, kp.replayMu and the index table's lock
// are leaves. The data path (TUN reader, receivers, sequencers, workers)
// never takes d.mu, because Apply, Down and Close wait for the receivers
// while holding it; handshakes it must start go through goInitiate.
type Device struct {
	log   *Logger
	clock clock.Clock
	rand  io.Reader // safe for concurrent use
	tun   tun.Device
	bind  bind.Bind
	pools *pools
	index *indexTable

	// mu guards the configuration and the up/down state. Handshake
	// processing holds it for reading, so that keys never change under it.
	mu         sync.RWMutex
	identity   atomic.Pointer[noise.Identity]      // nil without a private key; written under mu
	checker    atomic.Pointer[noise.CookieChecker] // nil without a private key; written under mu
	peers      map[noise.PublicKey]*Peer
	peerCount  atomic.Int64 // len(peers), for readers without mu
	tableMu    sync.RWMutex // guards table; taken alone, never while waiting on anything
	table      routing.Table[*Peer]
	listenPort uint16 // as configured
	boundPort  uint16 // as bound while up
	fwmark     uint32
	up         bool
	isUp       atomic.Bool // up, for the data path that must not take mu
	closed     bool
	recvWG     sync.WaitGroup // the bind's receive goroutines
	recvStop   chan struct{}  // closed when the bind closes

	mtu            atomic.Int64
	datagrams      atomic.Uint64 // read from the bind
	inflight       atomic.Int64  // batches, handshake messages and handshake starts in progress
	underLoadUntil atomic.Int64  // UnixNano
	limiter        *ratelimit.Limiter
	keyLog         *keyLog // nil without Options.KeyLog
	maxPeers       int

	workers    int
	runScratch []*elem // the TUN reader's
	inlineMax  int     // batches up to this size skip the workers
	tx         pipe    // its mu orders counter assignment with the send queue
	rx         pipe
	txBufs     [][]byte // transmit's
	rxBufs     [][]byte // deliver's
	rxGroups   []rxGroup
	rxFlush    []*Peer
	jobs       chan job
	hsQ        chan *hsMsg

	// Lifetime. enter/leave bracket every activity started from outside
	// the long-lived goroutines (timer callbacks, API calls), so that Close
	// can wait for them.
	lifeMu     sync.Mutex
	closing    bool
	activity   sync.WaitGroup
	producers  sync.WaitGroup // TUN reader, handshake workers (hsqueue.go)
	goroutines sync.WaitGroup // crypto workers, sequencers, event loop
	stop       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once
}

// New returns a Device between t and b, down and without keys. It starts
// following t's events (EventUp brings it up).
func New(t tun.Device, b bind.Bind, opts Options) (*Device, error) {
	if t == nil || b == nil {
		return nil, errors.New("device: nil tun or bind")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	r := &lockedReader{r: opts.Rand}
	d := &Device{
		log:       opts.Logger.orSilent(),
		clock:     opts.Clock,
		rand:      r,
		tun:       t,
		bind:      b,
		index:     newIndexTable(r),
		peers:     make(map[noise.PublicKey]*Peer),
		limiter:   ratelimit.New(),
		workers:   max(1, runtime.GOMAXPROCS(0)),
		inlineMax: inlineBatch(opts.InlineBatch),
		maxPeers:  cmp.Or(max(opts.MaxPeers, 0), DefaultMaxPeers),
		hsQ:       make(chan *hsMsg, HandshakeQueueSize),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if opts.KeyLog != nil {
		d.keyLog = &keyLog{w: opts.KeyLog}
	}
	d.jobs = make(chan job, pipelineDepth*d.workers*2)
	mtu, err := t.MTU()
	if err != nil || mtu <= 0 {
		mtu = defaultMTU
	}
	d.mtu.Store(int64(mtu))
	d.pools = newPools(mtu)
	d.tx.q, d.tx.finish = make(chan *batch, pipelineDepth), d.transmit
	d.rx.q, d.rx.finish, d.rx.open = make(chan *batch, pipelineDepth), d.deliver, true

	d.goroutines.Add(2 + d.workers)
	for range d.workers {
		go d.cryptoWorker()
	}
	go d.sequence(&d.tx)
	go d.sequence(&d.rx)
	hsWorkers := handshakeWorkers()
	d.producers.Add(1 + hsWorkers)
	for range hsWorkers {
		go d.handshakeWorker()
	}
	go d.readTUN()
	d.goroutines.Add(1)
	go d.followEvents()
	return d, nil
}

// enter registers an activity; it fails once the device is closing.
func (d *Device) enter() bool {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	if d.closing {
		return false
	}
	d.activity.Add(1)
	return true
}

func (d *Device) leave() { d.activity.Done() }

// followEvents brings the device up and down as the TUN device says.
func (d *Device) followEvents() {
	defer d.goroutines.Done()
	for ev := range d.tun.Events() {
		if ev&tun.EventMTUUpdate != 0 {
			if mtu, err := d.tun.MTU(); err == nil && mtu > 0 {
				d.mtu.Store(int64(mtu))
				d.pools.setMTU(mtu)
				d.log.Verbosef("MTU updated: %d", mtu)
			}
		}
		if ev&tun.EventUp != 0 {
			if err := d.Up(); err != nil && !errors.Is(err, ErrClosed) {
				d.log.Errorf("bring up: %v", err)
			}
		}
		if ev&tun.EventDown != 0 {
			if err := d.Down(); err != nil && !errors.Is(err, ErrClosed) {
				d.log.Errorf("bring down: %v", err)
			}
		}
	}
	// The TUN device is gone: so is the interface.
	d.lifeMu.Lock()
	closing := d.closing
	d.lifeMu.Unlock()
	if !closing {
		go d.Close()
	}
}

// Up opens the bind and starts the peers.
func (d *Device) Up() error {
	if !d.enter() {
		return ErrClosed
	}
	defer d.leave()
	return d.bringUp()
}

// bringUp is Up once the caller has entered. An Up that entered just
// before Close began may get here only after Close went down: it must not
// open the bind again, or Close would wait for its receivers forever.
func (d *Device) bringUp() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	if d.up {
		d.mu.Unlock()
		return nil
	}
	if err := d.openBindLocked(d.listenPort); err != nil {
		d.mu.Unlock()
		return err
	}
	d.up = true
	d.isUp.Store(true)
	var kick []*Peer
	for _, p := range d.peers {
		p.timersStart()
		if p.keepalive.Load() > 0 {
			kick = append(kick, p)
		}
	}
	d.mu.Unlock()
	d.log.Verbosef("Interface up")
	for _, p := range kick {
		p.sendKeepalive()
	}
	return nil
}

// Down closes the bind and stops the peers, wiping their sessions.
func (d *Device) Down() error {
	if !d.enter() {
		return ErrClosed
	}
	defer d.leave()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.downLocked()
	return nil
}

func (d *Device) downLocked() {
	if !d.up {
		return
	}
	d.up = false
	d.isUp.Store(false)
	d.closeBindLocked()
	for _, p := range d.peers {
		p.stop()
	}
	d.log.Verbosef("Interface down")
}

// openBindLocked opens the bind at port and starts its receivers.
func (d *Device) openBindLocked(port uint16) error {
	fns, actual, err := d.bind.Open(port)
	if err != nil {
		return fmt.Errorf("open UDP port %d: %w: %w", port, wgtypes.ErrPortInUse, err)
	}
	if d.fwmark != 0 {
		if err := d.bind.SetMark(d.fwmark); err != nil {
			d.bind.Close()
			return fmt.Errorf("set fwmark %d: %w", d.fwmark, err)
		}
	}
	d.boundPort = actual
	d.recvStop = make(chan struct{})
	d.recvWG.Add(len(fns))
	for _, fn := range fns {
		go d.receive(fn, d.recvStop)
	}
	d.log.Verbosef("UDP bind opened on port %d", actual)
	return nil
}

// closeBindLocked closes the bind and tells its receivers to stop. It does
// not wait for them: a receiver may be inside a TUN write that blocks (a
// stuck TUN), and Down or a port change must not hang behind it, holding
// the device's lock. A receiver that finishes its batch finds its socket
// closed and exits; it touches no session key after zeroSessions (keypair
// zeroing and decryption share the keypair's lock), and Close, which
// closes the TUN first, waits for every receiver.
func (d *Device) closeBindLocked() {
	if err := d.bind.Close(); err != nil {
		d.log.Errorf("close bind: %v", err)
	}
	if d.recvStop != nil {
		close(d.recvStop) // receivers blocked on a full pipeline give up their batch
		d.recvStop = nil
	}
	d.boundPort = 0
}

// Wait returns a channel closed once the device has closed.
func (d *Device) Wait() <-chan struct{} { return d.done }

// Close stops every goroutine and timer of the device, wipes all keys and
// closes the TUN device and the bind. It is safe to call more than once.
func (d *Device) Close() error {
	d.closeOnce.Do(d.close)
	<-d.done
	return nil
}

func (d *Device) close() {
	d.lifeMu.Lock()
	d.closing = true
	d.lifeMu.Unlock()

	// The TUN device goes first: it unblocks a sequencer stuck writing
	// to it, so that going down below can wait for the receivers.
	close(d.stop)
	if err := d.tun.Close(); err != nil {
		d.log.Errorf("close tun: %v", err)
	}
	d.mu.Lock()
	d.downLocked()
	d.closed = true
	d.mu.Unlock()
	// The TUN is closed: no receiver stays stuck writing to it.
	d.recvWG.Wait()

	d.activity.Wait()
	d.producers.Wait()
	// Nothing produces any more: let the pipelines drain and stop.
	close(d.tx.q)
	close(d.rx.q)
	close(d.jobs)
	d.goroutines.Wait()
	if err := d.bind.Close(); err != nil {
		d.log.Errorf("close bind: %v", err)
	}

	d.mu.Lock()
	for _, p := range d.peers {
		p.destroy()
	}
	if id := d.identity.Load(); id != nil {
		id.Zero()
	}
	d.mu.Unlock()
	for {
		select {
		case m := <-d.hsQ:
			d.pools.putHS(m)
			continue
		default:
		}
		break
	}
	d.log.Verbosef("Device closed")
	close(d.done)
}

func (d *Device) now() time.Time { return d.clock.Now() }

// isUnderLoad reports whether handshake messages should demand cookies.
func (d *Device) isUnderLoad(now time.Time) bool {
	if len(d.hsQ) >= underLoadThreshold {
		d.underLoadUntil.Store(now.Add(underLoadAfter).UnixNano())
		return true
	}
	return d.underLoadUntil.Load() > now.UnixNano()
}

func isClosedErr(err error) bool {
	return errors.Is(err, os.ErrClosed) || errors.Is(err, bind.ErrClosed) || errors.Is(err, net.ErrClosed)
}

// backoff paces a loop that keeps failing: no pause after a success, then
// growing pauses up to 100 ms, so a broken device does not spin a core.
type backoff struct{ d time.Duration }

func (b *backoff) fail() {
	b.d = min(max(b.d*2, 100*time.Microsecond), 100*time.Millisecond)
	time.Sleep(b.d)
}

func (b *backoff) ok() { b.d = 0 }

// inlineBatch resolves Options.InlineBatch.
func inlineBatch(n int) int {
	switch {
	case n > 0:
		return n
	case n < 0:
		return 0
	case runtime.GOMAXPROCS(0) <= 2:
		return math.MaxInt
	}
	return minJobSize
}
