package noise

import (
	"crypto/ecdh"
	"crypto/rand"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wire"
)

func BenchmarkHandshake(b *testing.B) {
	p := newTestPair(b, PresharedKey{1})
	lookup := func(PublicKey) *PeerKeys { return p.bPeer }
	b.ReportAllocs()
	for b.Loop() {
		m1, st, err := CreateInitiation(p.a, p.aPeer, 1, testNow, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		ci, _, err := ConsumeInitiationWith(p.b, m1, lookup)
		if err != nil {
			b.Fatal(err)
		}
		m2, rkp, err := ci.CreateResponse(p.bPeer, 2, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		ikp, err := st.ConsumeResponse(p.a, p.aPeer, m2)
		if err != nil {
			b.Fatal(err)
		}
		rkp.Zero()
		ikp.Zero()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}

func BenchmarkCreateInitiation(b *testing.B) {
	p := newTestPair(b, PresharedKey{})
	b.ReportAllocs()
	for b.Loop() {
		_, st, err := CreateInitiation(p.a, p.aPeer, 1, testNow, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		st.Zero()
	}
}

func BenchmarkConsumeInitiation(b *testing.B) {
	p := newTestPair(b, PresharedKey{})
	m1, _, err := CreateInitiation(p.a, p.aPeer, 1, testNow, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("no lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ci, err := ConsumeInitiation(p.b, m1)
			if err != nil {
				b.Fatal(err)
			}
			ci.Zero()
		}
	})
	b.Run("lookup", func(b *testing.B) {
		lookup := func(PublicKey) *PeerKeys { return p.bPeer }
		b.ReportAllocs()
		for b.Loop() {
			ci, _, err := ConsumeInitiationWith(p.b, m1, lookup)
			if err != nil {
				b.Fatal(err)
			}
			ci.Zero()
		}
	})
}

func BenchmarkMAC1(b *testing.B) {
	p := newTestPair(b, PresharedKey{})
	m1, _, err := CreateInitiation(p.a, p.aPeer, 1, testNow, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	msg := m1.Marshal(make([]byte, wire.InitiationSize))
	gen := NewCookieGenerator(p.b.Public)
	ck := NewCookieChecker(p.b.Public, rand.Reader)
	b.Run("add", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			gen.AddMACs(msg, testNow)
		}
	})
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !ck.CheckMAC1(msg) {
				b.Fatal("MAC1 does not verify")
			}
		}
	})
}

// The responder's handshake rate against what its X25519 operations allow
// (issue 6: "a responder sustains at least 80% of what its X25519
// operations allow on one core"). Run with -cpu 1; scripts/bench.sh
// (measure_handshake) reports the ratio of the two.

// responderPeer is what the responder keeps about one initiator.
type responderPeer struct {
	keys *PeerKeys
	gen  *CookieGenerator // MACs on our responses to it
	last Timestamp
}

// BenchmarkResponder is the responder's whole work for one handshake, as
// the engine does it (internal/device Device.handleInitiation; keep the two
// alike): check MAC1 of a marshaled initiation, parse and consume it, find
// the peer, check its timestamp, create the response and session keys, and
// marshal the response with its MACs. Index allocation, session setup and
// sending are the engine's and left out (BenchmarkDeviceResponder in
// internal/device has them).
//
// The b.N initiations come from a few initiators in turn, each later than
// the last (the responder drops replayed timestamps), and are made before
// the timer starts.
func BenchmarkResponder(b *testing.B) {
	const initiators = 8
	respPriv, err := NewPrivateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	resp := NewIdentity(respPriv)
	ck := NewCookieChecker(resp.Public, rand.Reader)
	type initiator struct {
		id   *Identity
		keys *PeerKeys
	}
	inits := make([]initiator, initiators)
	peers := make(map[PublicKey]*responderPeer, initiators)
	for i := range inits {
		priv, err := NewPrivateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		id := NewIdentity(priv)
		psk := PresharedKey{byte(i + 1)}
		ik, err := NewPeerKeys(id, resp.Public, psk)
		if err != nil {
			b.Fatal(err)
		}
		rk, err := NewPeerKeys(resp, id.Public, psk)
		if err != nil {
			b.Fatal(err)
		}
		inits[i] = initiator{id, ik}
		peers[id.Public] = &responderPeer{keys: rk, gen: NewCookieGenerator(id.Public)}
	}
	gen := NewCookieGenerator(resp.Public)
	msgs := make([][]byte, b.N)
	for i := range msgs {
		in := inits[i%initiators]
		now := testNow.Add(time.Duration(i) * time.Second)
		m, st, err := CreateInitiation(in.id, in.keys, uint32(i+1), now, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		st.Zero()
		msgs[i] = m.Marshal(make([]byte, wire.InitiationSize))
		gen.AddMACs(msgs[i], now)
	}
	var out [wire.ResponseSize]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i, msg := range msgs {
		if !ck.CheckMAC1(msg) {
			b.Fatal("MAC1 does not verify")
		}
		im, err := wire.ParseInitiation(msg)
		if err != nil {
			b.Fatal(err)
		}
		// As the engine does: the peer's precomputed static-static DH
		// is used (ConsumeInitiationWith).
		var p *responderPeer
		ci, _, err := ConsumeInitiationWith(resp, &im, func(pk PublicKey) *PeerKeys {
			if p = peers[pk]; p == nil {
				return nil
			}
			return p.keys
		})
		if err != nil {
			b.Fatal(err)
		}
		if !ci.Timestamp.After(p.last) {
			b.Fatal(ErrStaleTimestamp)
		}
		p.last = ci.Timestamp
		m2, kp, err := ci.CreateResponse(p.keys, uint32(i+1), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		ci.Zero()
		kp.Zero()
		p.gen.AddMACs(m2.Marshal(out[:]), testNow)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hs/s")
}

// BenchmarkResponderX25519 is the X25519 work a responder cannot avoid per
// handshake, done the cheapest way crypto/ecdh allows: DH(Sr_priv, Ei_pub)
// with the static key loaded once; a fresh ephemeral keypair; DH(Er_priv,
// Ei_pub) and DH(Er_priv, Si_pub). The static-static DH is per peer, not
// per handshake (NewPeerKeys). Its hs/s is the ceiling BenchmarkResponder
// is measured against.
func BenchmarkResponderX25519(b *testing.B) {
	curve := ecdh.X25519()
	static, err := curve.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	ie, err := curve.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	is, err := curve.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	initEph := ie.PublicKey().Bytes() // arrives in each initiation
	initStatic := is.PublicKey()      // known per peer
	b.ReportAllocs()
	for b.Loop() {
		e, err := curve.NewPublicKey(initEph)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := static.ECDH(e); err != nil { // es
			b.Fatal(err)
		}
		eph, err := curve.GenerateKey(rand.Reader) // DH-GENERATE
		if err != nil {
			b.Fatal(err)
		}
		_ = eph.PublicKey().Bytes()
		if _, err := eph.ECDH(e); err != nil { // ee
			b.Fatal(err)
		}
		if _, err := eph.ECDH(initStatic); err != nil { // se
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hs/s")
}
