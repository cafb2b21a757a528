package noise

import (
	"crypto/rand"
	"testing"

	"github.com/warren-vpn/warren/internal/wire"
	"golang.org/x/crypto/curve25519"
)

// keyLog is what a key log records for one side of one handshake, as
// Wireshark's WireGuard dissector reads it.
type keyLog struct {
	localStatic  PrivateKey
	remoteStatic PublicKey
	ephemeral    PrivateKey
	psk          PresharedKey
}

// TestRevealEphemeral: the revealing variants hand out each side's
// ephemeral private key, and with it and the key log's other lines an
// observer who sees only the two messages derives the session's transport
// keys — from either side's log, as Wireshark does. The copy handed out is
// wiped when the callback returns.
func TestRevealEphemeral(t *testing.T) {
	for _, psk := range []PresharedKey{{}, {1, 2, 3}} {
		p := newTestPair(t, psk)
		var iniEph, respEph PrivateKey
		var kept *PrivateKey
		m1, st, err := CreateInitiationRevealing(p.a, p.aPeer, p.aIndex, testNow, rand.Reader, func(k *PrivateKey) {
			iniEph, kept = *k, k
		})
		if err != nil {
			t.Fatal(err)
		}
		if !kept.IsZero() {
			t.Error("the revealed initiator ephemeral key was not wiped after the callback")
		}
		if got := iniEph.PublicKey(); !got.Equal(PublicKey(m1.Ephemeral)) {
			t.Fatal("the revealed key is not the initiation's ephemeral key")
		}
		ci, err := ConsumeInitiation(p.b, m1)
		if err != nil {
			t.Fatal(err)
		}
		m2, resp, err := ci.CreateResponseRevealing(p.bPeer, p.bIndex, rand.Reader, func(k *PrivateKey) {
			respEph, kept = *k, k
		})
		if err != nil {
			t.Fatal(err)
		}
		if !kept.IsZero() {
			t.Error("the revealed responder ephemeral key was not wiped after the callback")
		}
		if got := respEph.PublicKey(); !got.Equal(PublicKey(m2.Ephemeral)) {
			t.Fatal("the revealed key is not the response's ephemeral key")
		}
		ini, err := st.ConsumeResponse(p.a, p.aPeer, m2)
		if err != nil {
			t.Fatal(err)
		}

		send, recv, ok := observeAsInitiator(keyLog{p.aPriv, p.b.Public, iniEph, psk}, m1, m2)
		if !ok || send != ini.Send || recv != ini.Receive {
			t.Errorf("psk %v: the initiator's key log does not yield the session's keys", !psk.IsZero())
		}
		send, recv, ok = observeAsResponder(keyLog{p.bPriv, p.a.Public, respEph, psk}, m1, m2)
		if !ok || send != resp.Send || recv != resp.Receive {
			t.Errorf("psk %v: the responder's key log does not yield the session's keys", !psk.IsZero())
		}
	}
}

// TestRevealNil: without a callback the revealing variants are the plain
// ones (the handshake completes).
func TestRevealNil(t *testing.T) {
	p := newTestPair(t, PresharedKey{})
	m1, st, err := CreateInitiationRevealing(p.a, p.aPeer, p.aIndex, testNow, rand.Reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := ConsumeInitiation(p.b, m1)
	if err != nil {
		t.Fatal(err)
	}
	m2, resp, err := ci.CreateResponseRevealing(p.bPeer, p.bIndex, rand.Reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	ini, err := st.ConsumeResponse(p.a, p.aPeer, m2)
	if err != nil || ini.Send != resp.Receive {
		t.Fatalf("handshake without reveal: %v", err)
	}
}

// x25519 is DH for the observer; a low-order point yields zeros, which
// then fail the response's AEAD.
func x25519(priv *PrivateKey, pub []byte) []byte {
	out, err := curve25519.X25519(priv[:], pub)
	if err != nil {
		return make([]byte, 32)
	}
	return out
}

// observeAsInitiator derives the initiator's transport keys (send,
// receive) from its key log and the two messages, the way a packet
// analyser does (whitepaper §5.4.2, §5.4.3).
func observeAsInitiator(log keyLog, m1 *wire.Initiation, m2 *wire.Response) (send, recv [32]byte, ok bool) {
	c, h := initialChainKey(), initialHash()
	mixHash(&h, log.remoteStatic[:])
	var k [32]byte
	kdf1(&c, c[:], m1.Ephemeral[:])
	mixHash(&h, m1.Ephemeral[:])
	kdf2(&c, &k, c[:], x25519(&log.ephemeral, log.remoteStatic[:]))
	mixHash(&h, m1.Static[:])
	kdf2(&c, &k, c[:], x25519(&log.localStatic, log.remoteStatic[:]))
	mixHash(&h, m1.Timestamp[:])
	ok = finishObserved(&c, &h, m2, x25519(&log.ephemeral, m2.Ephemeral[:]), x25519(&log.localStatic, m2.Ephemeral[:]), log.psk)
	kdf2(&send, &recv, c[:], nil)
	return send, recv, ok
}

// observeAsResponder derives the responder's transport keys from its key
// log and the two messages; the initiator's static key is decrypted from
// the initiation and must be the log's remote key.
func observeAsResponder(log keyLog, m1 *wire.Initiation, m2 *wire.Response) (send, recv [32]byte, ok bool) {
	local := log.localStatic.PublicKey()
	c, h := initialChainKey(), initialHash()
	mixHash(&h, local[:])
	var k [32]byte
	kdf1(&c, c[:], m1.Ephemeral[:])
	mixHash(&h, m1.Ephemeral[:])
	kdf2(&c, &k, c[:], x25519(&log.localStatic, m1.Ephemeral[:]))
	var static PublicKey
	if _, err := aeadOpen(static[:0], &k, m1.Static[:], h[:]); err != nil || !static.Equal(log.remoteStatic) {
		return send, recv, false
	}
	mixHash(&h, m1.Static[:])
	kdf2(&c, &k, c[:], x25519(&log.localStatic, static[:]))
	mixHash(&h, m1.Timestamp[:])
	ok = finishObserved(&c, &h, m2, x25519(&log.ephemeral, m1.Ephemeral[:]), x25519(&log.ephemeral, static[:]), log.psk)
	kdf2(&recv, &send, c[:], nil)
	return send, recv, ok
}

// finishObserved mixes the response into the chain (ee and se are its two
// DH results, from whichever side's keys) and checks its empty AEAD.
func finishObserved(c, h *[32]byte, m2 *wire.Response, ee, se []byte, psk PresharedKey) bool {
	kdf1(c, c[:], m2.Ephemeral[:])
	mixHash(h, m2.Ephemeral[:])
	kdf1(c, c[:], ee)
	kdf1(c, c[:], se)
	var tau, k [32]byte
	kdf3(c, &tau, &k, c[:], psk[:])
	mixHash(h, tau[:])
	_, err := aeadOpen(nil, &k, m2.Empty[:], h[:])
	return err == nil
}
