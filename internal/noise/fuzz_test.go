package noise

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wire"
)

// fuzzFixture is the deterministic transcript's parties: replaying
// CreateInitiation with the same seed recreates the initiator's state, so
// the transcript's response is the one authentic message.
type fuzzFixture struct {
	a, b    *Identity
	ap, bp  *PeerKeys
	now     time.Time
	genuine map[string][]byte
}

func newFuzzFixture(f *testing.F) *fuzzFixture {
	x := &fuzzFixture{
		a:       NewIdentity(fixedPrivateKey(0x11)),
		b:       NewIdentity(fixedPrivateKey(0x22)),
		now:     time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC),
		genuine: map[string][]byte{},
	}
	psk := PresharedKey{31: 0x33}
	var err error
	if x.ap, err = NewPeerKeys(x.a, x.b.Public, psk); err != nil {
		f.Fatal(err)
	}
	if x.bp, err = NewPeerKeys(x.b, x.a.Public, psk); err != nil {
		f.Fatal(err)
	}
	for _, kv := range transcript(f) {
		b, _ := hex.DecodeString(kv[1])
		x.genuine[kv[0]] = b
	}
	return x
}

// FuzzConsumeInitiation: no input panics, and only the authentic
// initiation's encrypted fields (ephemeral, static, timestamp) decrypt.
func FuzzConsumeInitiation(f *testing.F) {
	x := newFuzzFixture(f)
	genuine := x.genuine["initiation"]
	f.Add(genuine)
	f.Add(x.genuine["initiation_with_mac2"])
	ck := NewCookieChecker(x.b.Public, newDetRand("fuzz"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := wire.ParseInitiation(b)
		if err != nil {
			return
		}
		mac1 := ck.CheckMAC1(b)
		ci, err := ConsumeInitiation(x.b, &m)
		if err != nil {
			return
		}
		defer ci.Zero()
		if !bytes.Equal(b[8:116], genuine[8:116]) {
			t.Fatalf("forged initiation decrypted: %x", b)
		}
		if !ci.Remote.Equal(x.a.Public) {
			t.Fatal("authentic initiation yields the wrong remote key")
		}
		if mac1 != bytes.Equal(b[:132], genuine[:132]) {
			t.Fatalf("MAC1 check %v on %x", mac1, b)
		}
	})
}

// FuzzConsumeResponse: no input panics, and only the authentic response's
// receiver, ephemeral and empty fields complete the handshake.
func FuzzConsumeResponse(f *testing.F) {
	x := newFuzzFixture(f)
	genuine := x.genuine["response"]
	f.Add(genuine)
	ck := NewCookieChecker(x.a.Public, newDetRand("fuzz"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := wire.ParseResponse(b)
		if err != nil {
			return
		}
		mac1 := ck.CheckMAC1(b)
		_, ini, err := CreateInitiation(x.a, x.ap, 0x01020304, x.now, newDetRand("warren transcript"))
		if err != nil {
			t.Fatal(err)
		}
		defer ini.Zero()
		kp, err := ini.ConsumeResponse(x.a, x.ap, &m)
		if err != nil {
			return
		}
		defer kp.Zero()
		if !bytes.Equal(b[8:60], genuine[8:60]) {
			t.Fatalf("forged response accepted: %x", b)
		}
		if mac1 != bytes.Equal(b[:76], genuine[:76]) {
			t.Fatalf("MAC1 check %v on %x", mac1, b)
		}
	})
}

// FuzzCookieReply: no input panics, and only the authentic reply's nonce
// and cookie decrypt.
func FuzzCookieReply(f *testing.F) {
	x := newFuzzFixture(f)
	genuine := x.genuine["cookie_reply"]
	f.Add(genuine)
	msg := bytes.Clone(x.genuine["initiation"])
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := wire.ParseCookieReply(b)
		if err != nil {
			return
		}
		gen := NewCookieGenerator(x.b.Public)
		m := bytes.Clone(msg)
		gen.AddMACs(m, x.now)
		if err := gen.ConsumeReply(&r, x.now); err != nil {
			return
		}
		if !bytes.Equal(b[8:], genuine[8:]) {
			t.Fatalf("forged cookie reply accepted: %x", b)
		}
	})
}
