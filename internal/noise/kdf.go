package noise

// The symmetric half of the construction (whitepaper §5.4): HASH, MAC, HMAC,
// KDF1/2/3 and the handshake AEAD, with the paper's names (DH is in dh.go).

import (
	"crypto/hmac"
	"hash"

	"golang.org/x/crypto/blake2s"
	"golang.org/x/crypto/chacha20poly1305"
)

// Protocol strings (whitepaper §5.4).
const (
	construction = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
	identifier   = "WireGuard v1 zx2c4 Jason@zx2c4.com"
	labelMAC1    = "mac1----"
	labelCookie  = "cookie--"
)

// initialChainKey is Ci = HASH(CONSTRUCTION), the first link of the chain.
func initialChainKey() [blake2s.Size]byte { return blake2s.Sum256([]byte(construction)) }

// initialHash is Hi = HASH(Ci || IDENTIFIER).
func initialHash() [blake2s.Size]byte {
	c := initialChainKey()
	var buf [blake2s.Size + len(identifier)]byte
	copy(buf[:], c[:])
	copy(buf[blake2s.Size:], identifier)
	return blake2s.Sum256(buf[:])
}

// hashConcat returns HASH(a || b) without touching the heap for the short
// inputs the handshake uses.
func hashConcat(a, b []byte) [blake2s.Size]byte {
	var buf [128]byte
	if len(a)+len(b) <= len(buf) {
		n := copy(buf[:], a)
		n += copy(buf[n:], b)
		return blake2s.Sum256(buf[:n])
	}
	h, _ := blake2s.New256(nil)
	h.Write(a)
	h.Write(b)
	var out [blake2s.Size]byte
	h.Sum(out[:0])
	return out
}

// mixHash sets h = HASH(h || data).
func mixHash(h *[blake2s.Size]byte, data []byte) { *h = hashConcat(h[:], data) }

// labeledKey returns HASH(label || pub): the MAC1 and cookie keys (§5.4.4, §5.4.7).
func labeledKey(label string, pub *PublicKey) [blake2s.Size]byte {
	return hashConcat([]byte(label), pub[:])
}

func newBlake2s() hash.Hash {
	h, _ := blake2s.New256(nil) // cannot fail without a key
	return h
}

// hmacBlake2s is HMAC(key, in1 || in2) with BLAKE2s-256 (RFC 2104).
func hmacBlake2s(out *[blake2s.Size]byte, key, in1, in2 []byte) {
	m := hmac.New(newBlake2s, key)
	m.Write(in1)
	m.Write(in2)
	m.Sum(out[:0])
}

// kdf is KDFn(ck, input) for n = 1, 2 or 3 (t2, t3 may be nil):
// τ0 = HMAC(ck, input), τ1 = HMAC(τ0, 0x1), τi = HMAC(τ0, τi-1 || i).
// Outputs may alias ck.
func kdf(t1, t2, t3 *[blake2s.Size]byte, ck, input []byte) {
	var t0 [blake2s.Size]byte
	hmacBlake2s(&t0, ck, input, nil)
	m := hmac.New(newBlake2s, t0[:])
	clear(t0[:])
	m.Write([]byte{0x1})
	m.Sum(t1[:0])
	if t2 == nil {
		return
	}
	m.Reset()
	m.Write(t1[:])
	m.Write([]byte{0x2})
	m.Sum(t2[:0])
	if t3 == nil {
		return
	}
	m.Reset()
	m.Write(t2[:])
	m.Write([]byte{0x3})
	m.Sum(t3[:0])
}

// kdf1 is KDF1(ck, input): returns τ1.
func kdf1(t1 *[blake2s.Size]byte, ck, input []byte) { kdf(t1, nil, nil, ck, input) }

// kdf2 is KDF2(ck, input): returns τ1, τ2.
func kdf2(t1, t2 *[blake2s.Size]byte, ck, input []byte) { kdf(t1, t2, nil, ck, input) }

// kdf3 is KDF3(ck, input): returns τ1, τ2, τ3.
func kdf3(t1, t2, t3 *[blake2s.Size]byte, ck, input []byte) { kdf(t1, t2, t3, ck, input) }

// mac is MAC(key, input): keyed BLAKE2s with a 16-byte output.
func mac(out *[16]byte, key []byte, input []byte) {
	h, err := blake2s.New128(key)
	if err != nil {
		panic("noise: MAC key of invalid length") // keys are always 16 or 32 bytes
	}
	h.Write(input)
	h.Sum(out[:0])
}

// aeadSeal is AEAD(key, 0, plaintext, aad) appended to dst. The handshake
// uses the nonce 0 throughout: each key encrypts a single message.
func aeadSeal(dst []byte, key *[32]byte, plaintext, aad []byte) []byte {
	a, err := chacha20poly1305.New(key[:])
	if err != nil {
		panic("noise: chacha20poly1305 key of invalid length")
	}
	var nonce [chacha20poly1305.NonceSize]byte
	return a.Seal(dst, nonce[:], plaintext, aad)
}

// aeadOpen reverses aeadSeal; failure is ErrDecrypt.
func aeadOpen(dst []byte, key *[32]byte, ciphertext, aad []byte) ([]byte, error) {
	a, err := chacha20poly1305.New(key[:])
	if err != nil {
		panic("noise: chacha20poly1305 key of invalid length")
	}
	var nonce [chacha20poly1305.NonceSize]byte
	out, err := a.Open(dst, nonce[:], ciphertext, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return out, nil
}
