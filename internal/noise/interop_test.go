package noise

// Interoperability with the reference implementation, in process: a
// golang.zx2c4.com/wireguard device on a channel TUN and a channel bind whose
// other end this test drives by hand with this package's handshake.

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wire"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/conn/bindtest"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun/tuntest"
)

var (
	refTunnelAddr = netip.MustParseAddr("10.0.0.1") // the reference's side
	ourTunnelAddr = netip.MustParseAddr("10.0.0.2") // ours: the reference's AllowedIPs for us
)

// ioTimeout bounds waits that end early when things work; generous for loaded CI machines.
const ioTimeout = 20 * time.Second

// refHarness is a running reference device with one peer: us.
type refHarness struct {
	tun    *tuntest.ChannelTUN
	ours   conn.Bind   // our end of the channel bind
	rx     chan []byte // datagrams the reference sent us
	ref    PublicKey
	me     *Identity
	peer   *PeerKeys // our view of the reference
	gen    *CookieGenerator
	ck     *CookieChecker
	inject func(t *testing.T, b []byte)
	// skipped holds what recv passed over while waiting for another type.
	skipped [][]byte
}

func newRefHarness(t *testing.T, psk PresharedKey) *refHarness {
	t.Helper()
	myPriv, err := NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	refPriv, err := NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := &refHarness{me: NewIdentity(myPriv), ref: refPriv.PublicKey(), rx: make(chan []byte, 16384)}
	if h.peer, err = NewPeerKeys(h.me, h.ref, psk); err != nil {
		t.Fatal(err)
	}
	h.gen = NewCookieGenerator(h.ref)
	h.ck = NewCookieChecker(h.me.Public, rand.Reader)

	binds := bindtest.NewChannelBinds()
	h.tun = tuntest.NewChannelTUN()
	dev := device.NewDevice(h.tun.TUN(), binds[0], device.NewLogger(device.LogLevelSilent, ""))
	// Endpoint port 1 is binds[0].target4: the reference's sends reach binds[1].
	cfg := fmt.Sprintf("private_key=%s\npublic_key=%s\npreshared_key=%s\nallowed_ip=%s/32\nendpoint=127.0.0.1:1\n",
		refPriv.Hex(), h.me.Public.Hex(), psk.Hex(), ourTunnelAddr)
	if err := dev.IpcSet(cfg); err != nil {
		t.Fatalf("reference IpcSet: %v", err)
	}
	if err := dev.Up(); err != nil {
		t.Fatalf("reference Up: %v", err)
	}
	h.ours = binds[1]
	fns, _, err := h.ours.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bufs := [][]byte{make([]byte, 2048)}
			sizes := make([]int, 1)
			eps := make([]conn.Endpoint, 1)
			for {
				n, err := fn(bufs, sizes, eps)
				if err != nil {
					return
				}
				for i := range n {
					select {
					case h.rx <- bytes.Clone(bufs[i][:sizes[i]]):
					default: // the test is not reading: drop, as a network would
					}
				}
			}
		}()
	}
	h.inject = func(t *testing.T, b []byte) {
		t.Helper()
		// Port 2 is binds[1].target4: it lands in the reference's receive queue.
		if err := h.ours.Send([][]byte{b}, bindtest.ChannelEndpoint(2)); err != nil {
			t.Fatalf("inject: %v", err)
		}
	}
	t.Cleanup(func() {
		dev.Close()
		h.ours.Close()
		wg.Wait()
	})
	return h
}

// recv returns the next datagram of type want from the reference, skipping others.
func (h *refHarness) recv(t *testing.T, want uint8) []byte {
	t.Helper()
	return h.recvWithin(t, want, ioTimeout)
}

func (h *refHarness) recvWithin(t *testing.T, want uint8, timeout time.Duration) []byte {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case b := <-h.rx:
			typ, err := wire.Type(b)
			if err != nil {
				t.Fatalf("reference sent a malformed datagram: %v", err)
			}
			if typ == want {
				return b
			}
			h.skipped = append(h.skipped, b)
		case <-deadline:
			t.Fatalf("no type %d message from the reference within %v", want, timeout)
		}
	}
}

// sendToTUN has the reference read packet from its TUN (as if a local
// program sent it).
func (h *refHarness) sendToTUN(t *testing.T, packet []byte) {
	t.Helper()
	select {
	case h.tun.Outbound <- packet:
	case <-time.After(ioTimeout):
		t.Fatal("reference did not read its TUN")
	}
}

// fromTUN returns the next packet the reference delivered to its TUN.
func (h *refHarness) fromTUN(t *testing.T) []byte {
	t.Helper()
	select {
	case p := <-h.tun.Inbound:
		return p
	case <-time.After(ioTimeout):
		t.Fatal("reference delivered nothing to its TUN")
		return nil
	}
}

// sealTransport builds a transport data message (§5.4.6).
func sealTransport(t *testing.T, kp *Keypair, counter uint64, packet []byte) []byte {
	t.Helper()
	a, err := chacha20poly1305.New(kp.Send[:])
	if err != nil {
		t.Fatal(err)
	}
	padded := make([]byte, wire.PaddedSize(len(packet), tuntest.DefaultMTU))
	copy(padded, packet)
	var nonce [chacha20poly1305.NonceSize]byte
	binary.LittleEndian.PutUint64(nonce[4:], counter)
	msg := make([]byte, wire.TransportHeaderSize, wire.TransportOverhead+len(padded))
	wire.PutTransportHeader(msg, kp.RemoteIndex, counter)
	return a.Seal(msg, nonce[:], padded, nil)
}

// openTransport decrypts a transport data message addressed to kp.
func openTransport(t *testing.T, kp *Keypair, msg []byte) []byte {
	t.Helper()
	hdr, err := wire.ParseTransportHeader(msg)
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Receiver != kp.LocalIndex {
		t.Fatalf("transport receiver %#x, want our index %#x", hdr.Receiver, kp.LocalIndex)
	}
	a, err := chacha20poly1305.New(kp.Receive[:])
	if err != nil {
		t.Fatal(err)
	}
	var nonce [chacha20poly1305.NonceSize]byte
	binary.LittleEndian.PutUint64(nonce[4:], hdr.Counter)
	pt, err := a.Open(nil, nonce[:], msg[wire.TransportHeaderSize:], nil)
	if err != nil {
		t.Fatalf("decrypt reference transport packet (counter %d): %v", hdr.Counter, err)
	}
	return pt
}

// checkPadded asserts that plaintext is packet padded with zeros to a multiple of 16.
func checkPadded(t *testing.T, plaintext, packet []byte) {
	t.Helper()
	if len(plaintext)%wire.PaddingMultiple != 0 || len(plaintext) < len(packet) {
		t.Fatalf("plaintext of %d bytes for a %d-byte packet", len(plaintext), len(packet))
	}
	if !bytes.Equal(plaintext[:len(packet)], packet) || !isZero(plaintext[len(packet):]) {
		t.Fatalf("plaintext %x, want %x padded with zeros", plaintext, packet)
	}
}

// exchangeTransport checks transport data both ways over kp.
func (h *refHarness) exchangeTransport(t *testing.T, kp *Keypair, counter uint64) {
	t.Helper()
	in := tuntest.Ping(refTunnelAddr, ourTunnelAddr)
	h.inject(t, sealTransport(t, kp, counter, in))
	if got := h.fromTUN(t); !bytes.Equal(got, in) {
		t.Fatalf("reference delivered %x, want %x", got, in)
	}
	out := tuntest.Ping(ourTunnelAddr, refTunnelAddr)
	h.sendToTUN(t, out)
	checkPadded(t, openTransport(t, kp, h.recv(t, wire.TypeTransport)), out)
}

// respond consumes a reference initiation and answers it.
func (h *refHarness) respond(t *testing.T, init []byte, psk PresharedKey, senderIndex uint32) *Keypair {
	t.Helper()
	if !h.ck.CheckMAC1(init) {
		t.Fatal("reference initiation fails our MAC1 check")
	}
	m1, err := wire.ParseInitiation(init)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := ConsumeInitiation(h.me, &m1)
	if err != nil {
		t.Fatalf("ConsumeInitiation of the reference's initiation: %v", err)
	}
	if !ci.Remote.Equal(h.ref) {
		t.Fatalf("initiation from %v, want the reference %v", ci.Remote, h.ref)
	}
	if ts := NewTimestamp(time.Now()); ci.Timestamp.After(ts) {
		t.Errorf("reference timestamp %x is after ours %x", ci.Timestamp, ts)
	}
	m2, kp, err := ci.CreateResponse(h.peer, senderIndex, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var buf [wire.ResponseSize]byte
	b := m2.Marshal(buf[:])
	h.gen.AddMACs(b, time.Now())
	h.inject(t, b)
	return kp
}

func TestInteropReferenceInitiates(t *testing.T) {
	for _, tc := range []struct {
		name string
		psk  PresharedKey
	}{
		{"no psk", PresharedKey{}},
		{"psk", PresharedKey{0xde, 0xad, 0xbe, 0xef, 31: 0x01}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newRefHarness(t, tc.psk)
			first := tuntest.Ping(ourTunnelAddr, refTunnelAddr)
			h.sendToTUN(t, first) // staged until the handshake completes
			kp := h.respond(t, h.recv(t, wire.TypeInitiation), tc.psk, 0xa1b2c3d4)
			// The reference, now initiator with a session, flushes the staged packet.
			checkPadded(t, openTransport(t, kp, h.recv(t, wire.TypeTransport)), first)
			h.exchangeTransport(t, kp, 0)
			h.exchangeTransport(t, kp, 1)
		})
	}
}

// initiate sends our initiation and consumes the reference's response.
func (h *refHarness) initiate(t *testing.T, gen *CookieGenerator, senderIndex uint32) *Keypair {
	t.Helper()
	m1, st, err := CreateInitiation(h.me, h.peer, senderIndex, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var buf [wire.InitiationSize]byte
	b := m1.Marshal(buf[:])
	gen.AddMACs(b, time.Now())
	h.inject(t, b)
	resp := h.recv(t, wire.TypeResponse)
	if !h.ck.CheckMAC1(resp) {
		t.Fatal("reference response fails our MAC1 check")
	}
	m2, err := wire.ParseResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := st.ConsumeResponse(h.me, h.peer, &m2)
	if err != nil {
		t.Fatalf("ConsumeResponse of the reference's response: %v", err)
	}
	return kp
}

func TestInteropWeInitiate(t *testing.T) {
	for _, tc := range []struct {
		name string
		psk  PresharedKey
	}{
		{"no psk", PresharedKey{}},
		{"psk", PresharedKey{0xca, 0xfe, 31: 0x02}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newRefHarness(t, tc.psk)
			kp := h.initiate(t, h.gen, 0x01020304)
			// As initiator we must speak first (key confirmation, §5.4.6).
			h.exchangeTransport(t, kp, 0)
			h.exchangeTransport(t, kp, 1)
		})
	}
}

// TestInteropReferenceSendsCookie floods the reference with initiations until
// it is under load, consumes the cookie reply it sends, and checks that an
// initiation carrying our MAC2 is then answered rather than cookied.
func TestInteropReferenceSendsCookie(t *testing.T) {
	h := newRefHarness(t, PresharedKey{})

	// A flood of identical initiations with a valid MAC1 and no MAC2: every
	// cookie reply is then encrypted with the same MAC1 as additional data.
	floodGen := NewCookieGenerator(h.ref)
	flood := func(n int, sender uint32) {
		m1, _, err := CreateInitiation(h.me, h.peer, sender, time.Now().Add(-time.Hour), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		var buf [wire.InitiationSize]byte
		b := m1.Marshal(buf[:])
		floodGen.AddMACs(b, time.Now())
		for range n {
			h.inject(t, b)
		}
	}
	flood(3000, 0xf100d)
	reply := h.recv(t, wire.TypeCookieReply)
	r, err := wire.ParseCookieReply(reply)
	if err != nil {
		t.Fatal(err)
	}
	if r.Receiver != 0xf100d {
		t.Fatalf("cookie reply to %#x, want the flood's sender %#x", r.Receiver, 0xf100d)
	}
	if err := floodGen.ConsumeReply(&r, time.Now()); err != nil {
		t.Fatalf("ConsumeReply of the reference's cookie: %v", err)
	}
	// The generator now holds the cookie; hand it to the generator we
	// stamp real initiations with.
	if err := floodGen.ConsumeReply(&r, time.Now()); err == nil {
		t.Fatal("a cookie reply was consumed twice")
	}
	h.gen = floodGen
	drain(h.rx)
	h.skipped = nil

	// Keep the reference under load and put a MAC2-stamped initiation at
	// the tail of a second flood (whose messages carry no cookie).
	time.Sleep(50 * time.Millisecond) // the reference refuses initiations < 20 ms apart
	flood2 := NewCookieGenerator(h.ref)
	m1, _, err := CreateInitiation(h.me, h.peer, 0xf100e, time.Now().Add(-time.Hour), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var fb [wire.InitiationSize]byte
	flood2.AddMACs(m1.Marshal(fb[:]), time.Now())
	// Enough to pass the reference's load mark (1/8 of its 1024-slot
	// handshake queue), few enough that the queue never overflows and
	// drops our initiation.
	for range 500 {
		h.inject(t, fb[:])
	}
	kp := h.initiate(t, h.gen, 0x5eed)
	var cookied int
	for _, b := range append(h.skipped, drain(h.rx)...) {
		if typ, _ := wire.Type(b); typ == wire.TypeCookieReply {
			switch binary.LittleEndian.Uint32(b[4:]) {
			case 0x5eed:
				t.Fatal("reference answered our MAC2-stamped initiation with a cookie")
			case 0xf100e:
				cookied++
			}
		}
	}
	// Cookie replies to the second flood show the reference was checking
	// MAC2 when our initiation arrived right behind it.
	if cookied == 0 {
		t.Fatal("the second flood drew no cookie replies: reference not under load, MAC2 untested")
	}
	t.Logf("second flood drew %d cookie replies", cookied)
	h.exchangeTransport(t, kp, 0)
}

// drain returns what is queued in c without waiting.
func drain(c chan []byte) [][]byte {
	var out [][]byte
	for {
		select {
		case b := <-c:
			out = append(out, b)
		default:
			return out
		}
	}
}

// TestInteropReferenceConsumesCookie answers the reference's initiation with
// our cookie reply and checks that its retry carries a MAC2 our checker
// accepts for the source address we bound the cookie to.
func TestInteropReferenceConsumesCookie(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the reference's 5 s handshake retransmission")
	}
	h := newRefHarness(t, PresharedKey{})
	first := tuntest.Ping(ourTunnelAddr, refTunnelAddr)
	h.sendToTUN(t, first)
	init1 := h.recv(t, wire.TypeInitiation)
	src := AppendSource(nil, netip.MustParseAddrPort("192.0.2.7:51820"))
	if h.ck.CheckMAC2(init1, src, time.Now()) {
		t.Fatal("first initiation carries a valid MAC2 before any cookie was sent")
	}
	m1, err := wire.ParseInitiation(init1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.ck.CreateReply(init1, m1.Sender, src, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var rb [wire.CookieReplySize]byte
	h.inject(t, r.Marshal(rb[:]))

	// RekeyTimeout (5 s) plus up to 333 ms of jitter.
	init2 := h.recvWithin(t, wire.TypeInitiation, 8*time.Second)
	if !h.ck.CheckMAC2(init2, src, time.Now()) {
		t.Fatal("retried initiation's MAC2 does not verify with our cookie")
	}
	other := AppendSource(nil, netip.MustParseAddrPort("192.0.2.7:51821"))
	if h.ck.CheckMAC2(init2, other, time.Now()) {
		t.Fatal("MAC2 verifies for a different source port")
	}
	kp := h.respond(t, init2, PresharedKey{}, 0x77)
	checkPadded(t, openTransport(t, kp, h.recv(t, wire.TypeTransport)), first)
}

// BenchmarkReferenceHandshake runs the reference's four handshake steps (and
// its key derivation) for comparison with BenchmarkHandshake. The reference
// refuses a second initiation from one peer within 20 ms, so the loop
// rotates over several device pairs. Its numbers include its index-table
// bookkeeping, which in warren lives in the engine.
func BenchmarkReferenceHandshake(b *testing.B) {
	const pairs = 48
	type pair struct {
		a, b    *device.Device
		bPubKey device.NoisePublicKey
	}
	ps := make([]pair, pairs)
	for i := range ps {
		ak, _ := NewPrivateKey(rand.Reader)
		bk, _ := NewPrivateKey(rand.Reader)
		psk, _ := NewPresharedKey(rand.Reader)
		mk := func(priv PrivateKey, peer PublicKey) *device.Device {
			d := device.NewDevice(tuntest.NewChannelTUN().TUN(), bindtest.NewChannelBinds()[0], device.NewLogger(device.LogLevelSilent, ""))
			if err := d.IpcSet(fmt.Sprintf("private_key=%s\npublic_key=%s\npreshared_key=%s\n", priv.Hex(), peer.Hex(), psk.Hex())); err != nil {
				b.Fatal(err)
			}
			if err := d.Up(); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(d.Close)
			return d
		}
		ps[i] = pair{a: mk(ak, bk.PublicKey()), b: mk(bk, ak.PublicKey()), bPubKey: device.NoisePublicKey(bk.PublicKey())}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := &ps[i%pairs]
		i++
		m1, err := p.a.CreateMessageInitiation(p.a.LookupPeer(p.bPubKey))
		if err != nil {
			b.Fatal(err)
		}
		rp := p.b.ConsumeMessageInitiation(m1)
		if rp == nil {
			b.Fatal("reference refused the initiation")
		}
		m2, err := p.b.CreateMessageResponse(rp)
		if err != nil {
			b.Fatal(err)
		}
		ip := p.a.ConsumeMessageResponse(m2)
		if ip == nil {
			b.Fatal("reference refused the response")
		}
		if err := ip.BeginSymmetricSession(); err != nil {
			b.Fatal(err)
		}
		if err := rp.BeginSymmetricSession(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}

// TestGoldenInitiationAcceptedByReference feeds the deterministic transcript's
// initiation to the reference and completes the handshake with its response,
// so the golden bytes are known to be standard, not merely self-consistent.
func TestGoldenInitiationAcceptedByReference(t *testing.T) {
	golden := map[string][]byte{}
	for _, kv := range transcript(t) {
		b, _ := hex.DecodeString(kv[1])
		golden[kv[0]] = b
	}
	a, b := NewIdentity(fixedPrivateKey(0x11)), NewIdentity(fixedPrivateKey(0x22))
	psk := PresharedKey{31: 0x33}
	bPriv := fixedPrivateKey(0x22)
	ref := device.NewDevice(tuntest.NewChannelTUN().TUN(), bindtest.NewChannelBinds()[0], device.NewLogger(device.LogLevelSilent, ""))
	t.Cleanup(ref.Close)
	if err := ref.IpcSet(fmt.Sprintf("private_key=%s\npublic_key=%s\npreshared_key=%s\n", bPriv.Hex(), a.Public.Hex(), psk.Hex())); err != nil {
		t.Fatal(err)
	}
	if err := ref.Up(); err != nil { // peers of a down device refuse handshakes
		t.Fatal(err)
	}
	var m device.MessageInitiation
	if err := binary.Read(bytes.NewReader(golden["initiation"]), binary.LittleEndian, &m); err != nil {
		t.Fatal(err)
	}
	peer := ref.ConsumeMessageInitiation(&m)
	if peer == nil {
		t.Fatal("reference rejects the golden initiation")
	}
	rm, err := ref.CreateMessageResponse(peer)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, rm); err != nil {
		t.Fatal(err)
	}
	m2, err := wire.ParseResponse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	ap, err := NewPeerKeys(a, b.Public, psk)
	if err != nil {
		t.Fatal(err)
	}
	// Replaying the transcript's randomness recreates its initiator state.
	m1, ini, err := CreateInitiation(a, ap, 0x01020304, time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC), newDetRand("warren transcript"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m1.Marshal(make([]byte, wire.InitiationSize))[:116], golden["initiation"][:116]) {
		t.Fatal("replayed initiation differs from the golden one")
	}
	if _, err := ini.ConsumeResponse(a, ap, &m2); err != nil {
		t.Fatalf("ConsumeResponse of the reference's answer to the golden initiation: %v", err)
	}
}

// TestGoldenCookieMatchesReference checks the transcript's MAC1, cookie reply
// and MAC2 bytes with the reference's cookie code.
func TestGoldenCookieMatchesReference(t *testing.T) {
	golden := map[string][]byte{}
	for _, kv := range transcript(t) {
		b, _ := hex.DecodeString(kv[1])
		golden[kv[0]] = b
	}
	responder := device.NoisePublicKey(NewIdentity(fixedPrivateKey(0x22)).Public)
	var rc device.CookieChecker
	rc.Init(responder)
	if !rc.CheckMAC1(golden["initiation"]) || !rc.CheckMAC1(golden["initiation_with_mac2"]) {
		t.Fatal("reference rejects the golden MAC1")
	}
	// The reference generator stamps the same message: same MAC1, and after
	// consuming our cookie reply, the golden MAC2.
	var rg device.CookieGenerator
	rg.Init(responder)
	msg := bytes.Clone(golden["initiation"])
	clear(msg[wire.InitiationSize-wire.MAC1FromEnd:])
	rg.AddMacs(msg)
	if !bytes.Equal(msg, golden["initiation"]) {
		t.Fatalf("reference MAC1 %x, golden %x", msg[116:132], golden["initiation"][116:132])
	}
	var reply device.MessageCookieReply
	if err := binary.Read(bytes.NewReader(golden["cookie_reply"]), binary.LittleEndian, &reply); err != nil {
		t.Fatal(err)
	}
	if !rg.ConsumeReply(&reply) {
		t.Fatal("reference cannot decrypt the golden cookie reply")
	}
	clear(msg[wire.InitiationSize-wire.MAC1FromEnd:])
	rg.AddMacs(msg)
	if !bytes.Equal(msg, golden["initiation_with_mac2"]) {
		t.Fatalf("reference MAC2 %x, golden %x", msg[132:], golden["initiation_with_mac2"][132:])
	}
}
