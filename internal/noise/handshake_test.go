package noise

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
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

// lowOrderPoints are the Curve25519 points of small order (and their
// non-canonical encodings): DH with any of them is all zeros.
var lowOrderPoints = []struct{ name, hex string }{
	{"zero", "0000000000000000000000000000000000000000000000000000000000000000"},
	{"one", "0100000000000000000000000000000000000000000000000000000000000000"},
	{"order 8 (a)", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"},
	{"order 8 (b)", "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"},
	{"p-1", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
	{"p", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
	{"p+1", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
}

func mustHexKey(t *testing.T, s string) PublicKey {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != KeySize {
		t.Fatalf("bad test key %q", s)
	}
	return PublicKey(b)
}

func TestLowOrderKeys(t *testing.T) {
	p := newTestPair(t, PresharedKey{})
	for _, lo := range lowOrderPoints {
		t.Run(lo.name, func(t *testing.T) {
			pub := mustHexKey(t, lo.hex)
			if _, err := NewPeerKeys(p.a, pub, PresharedKey{}); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("NewPeerKeys: %v, want ErrInvalidKey", err)
			}

			m1, _, err := CreateInitiation(p.a, p.aPeer, 1, testNow, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			m1.Ephemeral = pub
			if _, err := ConsumeInitiation(p.b, m1); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("ConsumeInitiation with low-order ephemeral: %v, want ErrInvalidKey", err)
			}

			m1, st, err := CreateInitiation(p.a, p.aPeer, 1, testNow, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			ci, err := ConsumeInitiation(p.b, m1)
			if err != nil {
				t.Fatal(err)
			}
			m2, _, err := ci.CreateResponse(p.bPeer, 2, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			m2.Ephemeral = pub
			if _, err := st.ConsumeResponse(p.a, p.aPeer, m2); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("ConsumeResponse with low-order ephemeral: %v, want ErrInvalidKey", err)
			}
		})
	}
}

// TestInitiationTamper flips every bit position class in every byte of a
// stamped initiation and runs the receive pipeline: parse, MAC1, consume.
// Only MAC2 (unchecked when not under load) may change unnoticed.
func TestInitiationTamper(t *testing.T) {
	p := newTestPair(t, PresharedKey{9})
	m1, _, err := CreateInitiation(p.a, p.aPeer, p.aIndex, testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var good [wire.InitiationSize]byte
	NewCookieGenerator(p.b.Public).AddMACs(m1.Marshal(good[:]), testNow)
	ck := NewCookieChecker(p.b.Public, rand.Reader)
	accept := func(b []byte) error {
		m, err := wire.ParseInitiation(b)
		if err != nil {
			return err
		}
		if !ck.CheckMAC1(b) {
			return ErrBadMAC
		}
		_, err = ConsumeInitiation(p.b, &m)
		return err
	}
	if err := accept(good[:]); err != nil {
		t.Fatalf("untampered initiation: %v", err)
	}
	for i := range good {
		for _, bit := range []byte{0x01, 0x80} {
			b := good
			b[i] ^= bit
			err := accept(b[:])
			mac2 := i >= wire.InitiationSize-wire.MAC2FromEnd
			if mac2 != (err == nil) {
				t.Errorf("byte %d bit %#x: %v", i, bit, err)
			}
		}
	}
	// Without the MAC1 gate the AEAD must still catch every change to the
	// ephemeral, static and timestamp fields.
	for i := 8; i < wire.InitiationSize-wire.MAC1FromEnd; i++ {
		m := *m1
		b := m.Marshal(make([]byte, wire.InitiationSize))
		b[i] ^= 0x04
		m, _ = wire.ParseInitiation(b)
		_, err := ConsumeInitiation(p.b, &m)
		if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("byte %d: ConsumeInitiation = %v, want ErrDecrypt or ErrInvalidKey", i, err)
		}
	}
}

func TestResponseTamper(t *testing.T) {
	p := newTestPair(t, PresharedKey{})
	m1, st, err := CreateInitiation(p.a, p.aPeer, p.aIndex, testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := ConsumeInitiation(p.b, m1)
	if err != nil {
		t.Fatal(err)
	}
	m2, rkp, err := ci.CreateResponse(p.bPeer, p.bIndex, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var good [wire.ResponseSize]byte
	NewCookieGenerator(p.a.Public).AddMACs(m2.Marshal(good[:]), testNow)
	ck := NewCookieChecker(p.a.Public, rand.Reader)
	for i := range good[:wire.ResponseSize-wire.MAC2FromEnd] {
		b := good
		b[i] ^= 0x10
		if ck.CheckMAC1(b[:]) {
			t.Errorf("byte %d: MAC1 still verifies", i)
		}
		if i < 8 || i >= wire.ResponseSize-wire.MAC1FromEnd {
			continue // type, reserved bytes, sender, MAC1: guarded by MAC1 alone
		}
		m, err := wire.ParseResponse(b[:])
		if err != nil {
			t.Fatalf("byte %d: %v", i, err)
		}
		_, err = st.ConsumeResponse(p.a, p.aPeer, &m)
		switch {
		case i < 12:
			if !errors.Is(err, ErrUnknownPeer) {
				t.Errorf("byte %d (receiver): %v, want ErrUnknownPeer", i, err)
			}
		default:
			if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrInvalidKey) {
				t.Errorf("byte %d: %v, want ErrDecrypt or ErrInvalidKey", i, err)
			}
		}
		if err == nil {
			t.Fatalf("byte %d: tampered response accepted", i)
		}
	}
	// Forgeries must not have disturbed the state the real response needs.
	ikp, err := st.ConsumeResponse(p.a, p.aPeer, m2)
	if err != nil {
		t.Fatalf("genuine response after forgeries: %v", err)
	}
	if ikp.Send != rkp.Receive {
		t.Fatal("keys differ after forgeries")
	}
	if _, err := st.ConsumeResponse(p.a, p.aPeer, m2); !errors.Is(err, ErrHandshakeUsed) {
		t.Fatalf("second ConsumeResponse: %v, want ErrHandshakeUsed", err)
	}
}

func TestHandshakeMisuse(t *testing.T) {
	p := newTestPair(t, PresharedKey{})
	stranger := newTestPair(t, PresharedKey{})

	m1, st, err := CreateInitiation(p.a, p.aPeer, p.aIndex, testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := ConsumeInitiation(p.b, m1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ci.CreateResponse(stranger.bPeer, 1, rand.Reader); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("CreateResponse with another peer's keys: %v, want ErrUnknownPeer", err)
	}
	if _, _, err := ci.CreateResponse(p.bPeer, 1, iotestErrReader{}); err == nil || !errors.Is(err, errTestRand) {
		t.Errorf("CreateResponse with failing rand: %v, want the reader's error", err)
	}
	m2, _, err := ci.CreateResponse(p.bPeer, 1, rand.Reader)
	if err != nil {
		t.Fatalf("CreateResponse after failures: %v", err)
	}
	if _, _, err := ci.CreateResponse(p.bPeer, 1, rand.Reader); !errors.Is(err, ErrHandshakeUsed) {
		t.Errorf("second CreateResponse: %v, want ErrHandshakeUsed", err)
	}
	st.Zero()
	if _, err := st.ConsumeResponse(p.a, p.aPeer, m2); !errors.Is(err, ErrHandshakeUsed) {
		t.Errorf("ConsumeResponse after Zero: %v, want ErrHandshakeUsed", err)
	}
	if _, _, err := CreateInitiation(p.a, p.aPeer, 1, testNow, iotestErrReader{}); !errors.Is(err, errTestRand) {
		t.Errorf("CreateInitiation with failing rand: %v", err)
	}
	// A stranger's initiation decrypts (the caller then finds no such peer).
	sm1, _, err := CreateInitiation(stranger.a, mustPeerKeys(t, stranger.a, p.b.Public), 7, testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sci, err := ConsumeInitiation(p.b, sm1)
	if err != nil || !sci.Remote.Equal(stranger.a.Public) {
		t.Errorf("stranger's initiation: remote %v, err %v", sci.Remote, err)
	}
	// An initiation meant for someone else does not.
	if _, err := ConsumeInitiation(stranger.b, m1); !errors.Is(err, ErrDecrypt) {
		t.Errorf("initiation for another responder: %v, want ErrDecrypt", err)
	}
}

func mustPeerKeys(t *testing.T, local *Identity, remote PublicKey) *PeerKeys {
	t.Helper()
	pk, err := NewPeerKeys(local, remote, PresharedKey{})
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

var errTestRand = errors.New("test: no entropy")

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errTestRand }

var _ io.Reader = iotestErrReader{}

func TestZero(t *testing.T) {
	p := newTestPair(t, PresharedKey{1})
	ikp, rkp := p.handshake(t)
	ikp.Zero()
	rkp.Zero()
	if !isZero(ikp.Send[:]) || !isZero(ikp.Receive[:]) || !isZero(rkp.Send[:]) {
		t.Error("Keypair.Zero left key material")
	}
	p.aPeer.Zero()
	if !isZero(p.aPeer.ss[:]) || !p.aPeer.PSK.IsZero() {
		t.Error("PeerKeys.Zero left key material")
	}
	p.a.Zero()
	if !p.a.Private.IsZero() {
		t.Error("Identity.Zero left the private key")
	}
	m1, _, err := CreateInitiation(p.b, p.bPeer, 1, testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := ConsumeInitiation(p.a, m1) // zeroed identity: nothing decrypts
	if err == nil {
		ci.Zero()
		t.Error("zeroed identity consumed an initiation")
	}
	_, st, err := CreateInitiation(p.b, p.bPeer, 1, testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st.Zero()
	if !isZero(st.st.chainKey[:]) || !isZero(st.st.hash[:]) || st.st.ephemeral != nil {
		t.Error("Initiator.Zero left state")
	}
}

func TestConsumeInitiationWith(t *testing.T) {
	p := newTestPair(t, PresharedKey{5})
	m1, st, err := CreateInitiation(p.a, p.aPeer, p.aIndex, testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var asked []PublicKey
	for _, tc := range []struct {
		name    string
		peers   map[PublicKey]*PeerKeys
		wantErr error
	}{
		{"unknown peer", map[PublicKey]*PeerKeys{}, ErrUnknownPeer},
		{"known peer", map[PublicKey]*PeerKeys{p.a.Public: p.bPeer}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked = asked[:0]
			ci, peer, err := ConsumeInitiationWith(p.b, m1, func(k PublicKey) *PeerKeys {
				asked = append(asked, k)
				return tc.peers[k]
			})
			if len(asked) != 1 || !asked[0].Equal(p.a.Public) {
				t.Fatalf("lookup asked for %v, want exactly the initiator's key", asked)
			}
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if peer != p.bPeer || ci.Timestamp != NewTimestamp(testNow) || ci.Sender != p.aIndex {
				t.Fatalf("peer %p (want %p), timestamp %x, sender %#x", peer, p.bPeer, ci.Timestamp, ci.Sender)
			}
			m2, rkp, err := ci.CreateResponse(peer, p.bIndex, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			ikp, err := st.ConsumeResponse(p.a, p.aPeer, m2)
			if err != nil || ikp.Send != rkp.Receive {
				t.Fatalf("handshake through ConsumeInitiationWith: %v", err)
			}
		})
	}
	// A lookup that returns the wrong peer's keys cannot decrypt the timestamp.
	other := newTestPair(t, PresharedKey{})
	m1, _, err = CreateInitiation(p.a, p.aPeer, p.aIndex, testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ConsumeInitiationWith(p.b, m1, func(PublicKey) *PeerKeys { return other.aPeer }); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong PeerKeys from lookup: %v, want ErrDecrypt", err)
	}
}
