package noise

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"golang.org/x/crypto/blake2s"
)

// Published by every conforming implementation (boringtun, wireguard-rs, the
// kernel computes them at init): Ci = HASH(CONSTRUCTION), Hi = HASH(Ci || IDENTIFIER).
const (
	wantInitialChainKey = "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36"
	wantInitialHash     = "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3"
)

func TestInitialValues(t *testing.T) {
	c, h := initialChainKey(), initialHash()
	if got := hex.EncodeToString(c[:]); got != wantInitialChainKey {
		t.Errorf("HASH(CONSTRUCTION) = %s, want %s", got, wantInitialChainKey)
	}
	if got := hex.EncodeToString(h[:]); got != wantInitialHash {
		t.Errorf("HASH(Ci || IDENTIFIER) = %s, want %s", got, wantInitialHash)
	}
}

// refHMAC is RFC 2104 spelled out with one-shot BLAKE2s (block size 64), an
// implementation independent of crypto/hmac.
func refHMAC(key, msg []byte) [32]byte {
	const block = 64
	if len(key) > block {
		k := blake2s.Sum256(key)
		key = k[:]
	}
	var k0 [block]byte
	copy(k0[:], key)
	inner := make([]byte, 0, block+len(msg))
	outer := make([]byte, 0, block+32)
	for _, b := range k0 {
		inner = append(inner, b^0x36)
		outer = append(outer, b^0x5c)
	}
	ih := blake2s.Sum256(append(inner, msg...))
	return blake2s.Sum256(append(outer, ih[:]...))
}

func TestHMACBlake2s(t *testing.T) {
	for _, tc := range []struct {
		name     string
		key, msg []byte
	}{
		{"empty", nil, nil},
		{"32-byte key", bytes.Repeat([]byte{0xaa}, 32), []byte("message")},
		{"64-byte key", bytes.Repeat([]byte{0x0b}, 64), bytes.Repeat([]byte{1}, 33)},
		{"long key hashed", bytes.Repeat([]byte{0x42}, 100), []byte{0x1}},
		{"long message", []byte("k"), bytes.Repeat([]byte("abc"), 100)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got [32]byte
			hmacBlake2s(&got, tc.key, tc.msg, nil)
			if want := refHMAC(tc.key, tc.msg); got != want {
				t.Fatalf("HMAC = %x, want %x", got, want)
			}
			if len(tc.msg) > 1 {
				var split [32]byte
				hmacBlake2s(&split, tc.key, tc.msg[:1], tc.msg[1:])
				if split != got {
					t.Fatal("HMAC over two parts differs from HMAC over their concatenation")
				}
			}
		})
	}
}

func TestKDF(t *testing.T) {
	ck := bytes.Repeat([]byte{0x5a}, 32)
	for _, tc := range []struct {
		name  string
		input []byte
	}{
		{"empty input", nil},
		{"dh-sized input", bytes.Repeat([]byte{7}, 32)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The paper's definition, §5.4: τ0 = HMAC(key, input),
			// τ1 = HMAC(τ0, 0x1), τi = HMAC(τ0, τi-1 || i).
			t0 := refHMAC(ck, tc.input)
			w1 := refHMAC(t0[:], []byte{1})
			w2 := refHMAC(t0[:], append(w1[:], 2))
			w3 := refHMAC(t0[:], append(w2[:], 3))

			var a1, b1, b2, c1, c2, c3 [32]byte
			kdf1(&a1, ck, tc.input)
			kdf2(&b1, &b2, ck, tc.input)
			kdf3(&c1, &c2, &c3, ck, tc.input)
			if a1 != w1 || b1 != w1 || c1 != w1 {
				t.Errorf("τ1: kdf1 %x kdf2 %x kdf3 %x, want %x", a1, b1, c1, w1)
			}
			if b2 != w2 || c2 != w2 {
				t.Errorf("τ2: kdf2 %x kdf3 %x, want %x", b2, c2, w2)
			}
			if c3 != w3 {
				t.Errorf("τ3: %x, want %x", c3, w3)
			}
			// Outputs may alias the chaining key, as the handshake does.
			var inPlace [32]byte
			copy(inPlace[:], ck)
			var k [32]byte
			kdf2(&inPlace, &k, inPlace[:], tc.input)
			if inPlace != w1 || k != w2 {
				t.Errorf("in-place kdf2: %x %x, want %x %x", inPlace, k, w1, w2)
			}
		})
	}
}

func TestTimestampEncoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"unix epoch", time.Unix(0, 0), "400000000000000a00000000"},
		{"whitened nanoseconds", time.Unix(1, 123456789), "400000000000000b07000000"},
		{"just below whitening step", time.Unix(0, 1<<24-1), "400000000000000a00000000"},
		{"whitening step", time.Unix(0, 1<<24), "400000000000000a01000000"},
		{"2026 (unix 1795651200)", time.Date(2026, 11, 26, 0, 0, 0, 999999999, time.UTC), "400000006b07768a3b000000"},
		{"before the epoch", time.Unix(-10, 0), "400000000000000000000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := NewTimestamp(tc.at)
			if got := hex.EncodeToString(ts[:]); got != tc.want {
				t.Fatalf("NewTimestamp(%v) = %s, want %s", tc.at, got, tc.want)
			}
		})
	}
}

func TestTimestampAfter(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name string
		t, u time.Time
		want bool
	}{
		{"equal", base, base, false},
		{"one second later", base.Add(time.Second), base, true},
		{"one second earlier", base, base.Add(time.Second), false},
		{"20 ms later", base.Add(20 * time.Millisecond), base, true},
		{"1 ms later is hidden by whitening", base.Add(time.Millisecond), base, false},
		{"later second, smaller nanoseconds", base.Add(1100 * time.Millisecond), base.Add(900 * time.Millisecond), true},
		{"years later", base.AddDate(30, 0, 0), base, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewTimestamp(tc.t).After(NewTimestamp(tc.u)); got != tc.want {
				t.Fatalf("After = %v, want %v", got, tc.want)
			}
		})
	}
}
