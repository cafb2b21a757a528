package noise

import (
	"crypto/rand"
	"testing"

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
