// Package noise implements WireGuard's Noise_IKpsk2 handshake (whitepaper §5.4),
// the MAC1/MAC2 fields and cookie replies (§5.4.4, §5.4.7), and the key types.
//
// It is pure code: no system calls, no clock reads, no global state. The
// current time and the source of randomness are parameters, so transcripts are
// reproducible in tests. It imports only internal/wire of this module, and
// for cryptography only golang.org/x/crypto (BLAKE2s, ChaCha20-Poly1305,
// XChaCha20-Poly1305, Curve25519) and the standard library (crypto/hmac,
// crypto/ecdh).
//
// One file per concern: kdf.go (HASH, HMAC, KDFn, MAC, AEAD), dh.go (DH,
// DH-GENERATE), timestamp.go (TAI64N), identity.go (per-key
// precomputation), handshake.go (messages 1 and 2, transport keys),
// cookie.go (MAC1, MAC2, cookie replies).
//
// A handshake, with the engine's duties in brackets:
//
//	initiator: CreateInitiation → CookieGenerator.AddMACs → [send]
//	responder: [CookieChecker.CheckMAC1, CheckMAC2 under load] →
//	           ConsumeInitiation (or ConsumeInitiationWith) → [find peer,
//	           check Timestamp.After the last one] → CreateResponse →
//	           AddMACs → [send]
//	initiator: [CheckMAC1] → Initiator.ConsumeResponse → Keypair
//
// Identity, PeerKeys, CookieChecker and CookieGenerator are safe for
// concurrent use; Initiator and ConsumedInitiation belong to one goroutine
// and yield at most one Keypair each.
package noise
