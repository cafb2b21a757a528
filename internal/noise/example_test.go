package noise_test

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wire"
)

// A complete handshake between two identities, as the engine drives it.
func Example() {
	now := time.Now()
	alicePriv, _ := noise.NewPrivateKey(rand.Reader)
	bobPriv, _ := noise.NewPrivateKey(rand.Reader)
	alice, bob := noise.NewIdentity(alicePriv), noise.NewIdentity(bobPriv)
	aliceViewOfBob, _ := noise.NewPeerKeys(alice, bob.Public, noise.PresharedKey{})
	bobViewOfAlice, _ := noise.NewPeerKeys(bob, alice.Public, noise.PresharedKey{})

	// Alice initiates and stamps MAC1 for Bob.
	m1, initiator, _ := noise.CreateInitiation(alice, aliceViewOfBob, 1, now, rand.Reader)
	packet := m1.Marshal(make([]byte, wire.InitiationSize))
	noise.NewCookieGenerator(bob.Public).AddMACs(packet, now)

	// Bob checks MAC1, decrypts, finds Alice, answers.
	checker := noise.NewCookieChecker(bob.Public, rand.Reader)
	fmt.Println("MAC1 valid:", checker.CheckMAC1(packet))
	parsed, _ := wire.ParseInitiation(packet)
	consumed, peer, _ := noise.ConsumeInitiationWith(bob, &parsed, func(k noise.PublicKey) *noise.PeerKeys {
		if k.Equal(alice.Public) {
			return bobViewOfAlice
		}
		return nil
	})
	m2, bobKeys, _ := consumed.CreateResponse(peer, 2, rand.Reader)

	// Alice completes.
	aliceKeys, err := initiator.ConsumeResponse(alice, aliceViewOfBob, m2)
	fmt.Println("handshake:", err)
	fmt.Println("keys agree:", aliceKeys.Send == bobKeys.Receive && aliceKeys.Receive == bobKeys.Send)
	// Output:
	// MAC1 valid: true
	// handshake: <nil>
	// keys agree: true
}
