package noise

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wire"
)

var testNow = time.Date(2026, 11, 26, 4, 0, 0, 123456789, time.UTC)

type testPair struct {
	a, b           *Identity // a initiates, b responds
	aPeer, bPeer   *PeerKeys // aPeer: a's view of b; bPeer: b's view of a
	psk            PresharedKey
	aPriv, bPriv   PrivateKey
	aIndex, bIndex uint32
}

func newTestPair(t testing.TB, psk PresharedKey) *testPair {
	t.Helper()
	ap, err := NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bp, err := NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPair{a: NewIdentity(ap), b: NewIdentity(bp), psk: psk, aPriv: ap, bPriv: bp, aIndex: 0x11223344, bIndex: 0x55667788}
	if p.aPeer, err = NewPeerKeys(p.a, p.b.Public, psk); err != nil {
		t.Fatal(err)
	}
	if p.bPeer, err = NewPeerKeys(p.b, p.a.Public, psk); err != nil {
		t.Fatal(err)
	}
	return p
}

// handshake runs the full exchange and returns both keypairs.
func (p *testPair) handshake(t testing.TB) (ini, resp *Keypair) {
	t.Helper()
	m1, st, err := CreateInitiation(p.a, p.aPeer, p.aIndex, testNow, rand.Reader)
	if err != nil {
		t.Fatalf("CreateInitiation: %v", err)
	}
	ci, err := ConsumeInitiation(p.b, m1)
	if err != nil {
		t.Fatalf("ConsumeInitiation: %v", err)
	}
	if !ci.Remote.Equal(p.a.Public) {
		t.Fatalf("ConsumeInitiation: remote %v, want %v", ci.Remote, p.a.Public)
	}
	if ci.Timestamp != NewTimestamp(testNow) {
		t.Fatalf("ConsumeInitiation: timestamp %x, want %x", ci.Timestamp, NewTimestamp(testNow))
	}
	if ci.Sender != p.aIndex {
		t.Fatalf("ConsumeInitiation: sender %#x, want %#x", ci.Sender, p.aIndex)
	}
	m2, resp, err := ci.CreateResponse(p.bPeer, p.bIndex, rand.Reader)
	if err != nil {
		t.Fatalf("CreateResponse: %v", err)
	}
	ini, err = st.ConsumeResponse(p.a, p.aPeer, m2)
	if err != nil {
		t.Fatalf("ConsumeResponse: %v", err)
	}
	return ini, resp
}

func TestHandshakeRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		psk  PresharedKey
	}{
		{"no psk", PresharedKey{}},
		{"psk", PresharedKey{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPair(t, tc.psk)
			ini, resp := p.handshake(t)
			if ini.Send != resp.Receive || ini.Receive != resp.Send {
				t.Fatal("keypairs do not mirror each other")
			}
			if ini.Send == ini.Receive {
				t.Fatal("send and receive keys are equal")
			}
			if !ini.Initiator || resp.Initiator {
				t.Fatalf("Initiator flags: initiator %v, responder %v", ini.Initiator, resp.Initiator)
			}
			if ini.LocalIndex != p.aIndex || ini.RemoteIndex != p.bIndex || resp.LocalIndex != p.bIndex || resp.RemoteIndex != p.aIndex {
				t.Fatalf("indices: initiator %#x/%#x responder %#x/%#x", ini.LocalIndex, ini.RemoteIndex, resp.LocalIndex, resp.RemoteIndex)
			}
			ini2, _ := p.handshake(t)
			if bytes.Equal(ini.Send[:], ini2.Send[:]) {
				t.Fatal("two handshakes produced the same keys")
			}
		})
	}
}

func TestHandshakeWrongPSK(t *testing.T) {
	p := newTestPair(t, PresharedKey{1})
	var err error
	p.bPeer, err = NewPeerKeys(p.b, p.a.Public, PresharedKey{2})
	if err != nil {
		t.Fatal(err)
	}
	m1, st, err := CreateInitiation(p.a, p.aPeer, p.aIndex, testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := ConsumeInitiation(p.b, m1)
	if err != nil {
		t.Fatalf("ConsumeInitiation (PSK is not mixed in yet): %v", err)
	}
	m2, _, err := ci.CreateResponse(p.bPeer, p.bIndex, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ConsumeResponse(p.a, p.aPeer, m2); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("ConsumeResponse with wrong PSK: %v, want ErrDecrypt", err)
	}
}

var _ = wire.InitiationSize
