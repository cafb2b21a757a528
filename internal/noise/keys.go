package noise

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/curve25519"
)

// KeySize is the length in bytes of every WireGuard key.
const KeySize = 32

// PrivateKey is a Curve25519 private key, always stored clamped.
type PrivateKey [KeySize]byte

// PublicKey is a Curve25519 public key.
type PublicKey [KeySize]byte

// PresharedKey is the optional symmetric key mixed into the handshake.
type PresharedKey [KeySize]byte

// ErrKeyFormat is wrapped by every key parsing error.
var ErrKeyFormat = errors.New("invalid key")

// NewPrivateKey draws a fresh clamped private key from rand.
func NewPrivateKey(rand io.Reader) (PrivateKey, error) {
	var k PrivateKey
	if _, err := io.ReadFull(rand, k[:]); err != nil {
		return PrivateKey{}, fmt.Errorf("generate private key: %w", err)
	}
	k.clamp()
	return k, nil
}

// NewPresharedKey draws a fresh random preshared key from rand.
func NewPresharedKey(rand io.Reader) (PresharedKey, error) {
	var k PresharedKey
	if _, err := io.ReadFull(rand, k[:]); err != nil {
		return PresharedKey{}, fmt.Errorf("generate preshared key: %w", err)
	}
	return k, nil
}

func (k *PrivateKey) clamp() {
	k[0] &= 248
	k[31] = (k[31] & 127) | 64
}

// Clamped returns k with the Curve25519 clamping applied, as wg does for every
// private key it is given.
func (k PrivateKey) Clamped() PrivateKey {
	k.clamp()
	return k
}

// PublicKey derives the public key that belongs to k.
func (k PrivateKey) PublicKey() PublicKey {
	var pub PublicKey
	c := k.Clamped()
	curve25519.ScalarBaseMult((*[32]byte)(&pub), (*[32]byte)(&c))
	return pub
}

// IsZero reports whether k is all zeros (the "no key" value).
func (k PrivateKey) IsZero() bool { return isZero(k[:]) }

// IsZero reports whether k is all zeros (the "no key" value).
func (k PublicKey) IsZero() bool { return isZero(k[:]) }

// IsZero reports whether k is all zeros (the "no key" value).
func (k PresharedKey) IsZero() bool { return isZero(k[:]) }

// Zero overwrites the key with zeros.
func (k *PrivateKey) Zero() { clear(k[:]) }

// Zero overwrites the key with zeros.
func (k *PresharedKey) Zero() { clear(k[:]) }

// Equal compares in constant time.
func (k PublicKey) Equal(o PublicKey) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

func isZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return acc == 0
}

// String returns the base64 form used by wg and wg0.conf.
func (k PublicKey) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// Base64 returns the base64 form used by wg and wg0.conf. It is the only
// way to print a private key: String and Format redact it.
func (k PrivateKey) Base64() string { return base64.StdEncoding.EncodeToString(k[:]) }

// Base64 returns the base64 form used by wg and wg0.conf. It is the only
// way to print a preshared key: String and Format redact it.
func (k PresharedKey) Base64() string { return base64.StdEncoding.EncodeToString(k[:]) }

// redacted is what String and Format print for a secret key, so that a
// key that reaches a log line through %v or %s shows nothing of itself.
const redacted = "(redacted)"

// String returns "(redacted)": use Base64 or Hex to encode the key.
func (k PrivateKey) String() string { return redacted }

// String returns "(redacted)": use Base64 or Hex to encode the key.
func (k PresharedKey) String() string { return redacted }

// GoString returns "(redacted)", for %#v.
func (k PrivateKey) GoString() string { return redacted }

// GoString returns "(redacted)", for %#v.
func (k PresharedKey) GoString() string { return redacted }

// Format prints "(redacted)" for every verb (%v, %s, %x, %q, %d...): a
// secret key never reaches text by way of fmt.
func (k PrivateKey) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// Format prints "(redacted)" for every verb (%v, %s, %x, %q, %d...): a
// secret key never reaches text by way of fmt.
func (k PresharedKey) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// Hex returns the lowercase hex form used by the UAPI protocol.
func (k PublicKey) Hex() string { return hex.EncodeToString(k[:]) }

// Hex returns the lowercase hex form used by the UAPI protocol.
func (k PrivateKey) Hex() string { return hex.EncodeToString(k[:]) }

// Hex returns the lowercase hex form used by the UAPI protocol.
func (k PresharedKey) Hex() string { return hex.EncodeToString(k[:]) }

// ParseKey decodes a base64 key as written by wg genkey / in wg0.conf.
// Exactly 44 characters of standard base64 with one '=' padding are accepted.
func ParseKey(s string) ([KeySize]byte, error) {
	var k [KeySize]byte
	if len(s) != 44 || s[43] != '=' {
		return k, fmt.Errorf("%w: base64 key must be 44 characters ending in '='", ErrKeyFormat)
	}
	n, err := base64.StdEncoding.Strict().Decode(k[:], []byte(s))
	if err != nil || n != KeySize {
		return [KeySize]byte{}, fmt.Errorf("%w: not valid base64", ErrKeyFormat)
	}
	return k, nil
}

// ParseHexKey decodes a 64-character hex key as used by the UAPI protocol.
func ParseHexKey(s string) ([KeySize]byte, error) {
	var k [KeySize]byte
	if len(s) != 2*KeySize {
		return k, fmt.Errorf("%w: hex key must be 64 characters", ErrKeyFormat)
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return [KeySize]byte{}, fmt.Errorf("%w: not valid hex", ErrKeyFormat)
	}
	return k, nil
}
