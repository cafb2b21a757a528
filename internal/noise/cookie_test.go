package noise

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wire"
)

// stampedInitiation returns a marshaled initiation to responder with MAC1
// (and MAC2 when gen holds a cookie) added by gen at now.
func stampedInitiation(t *testing.T, p *testPair, gen *CookieGenerator, now time.Time) []byte {
	t.Helper()
	m1, _, err := CreateInitiation(p.a, p.aPeer, p.aIndex, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b := m1.Marshal(make([]byte, wire.InitiationSize))
	gen.AddMACs(b, now)
	return b
}

func TestCookieRoundTrip(t *testing.T) {
	p := newTestPair(t, PresharedKey{})
	gen := NewCookieGenerator(p.b.Public)
	ck := NewCookieChecker(p.b.Public, rand.Reader)
	src := AppendSource(nil, netip.MustParseAddrPort("198.51.100.9:4242"))
	t0 := testNow

	msg := stampedInitiation(t, p, gen, t0)
	if !ck.CheckMAC1(msg) {
		t.Fatal("MAC1 does not verify")
	}
	if !isZero(msg[len(msg)-wire.MAC2FromEnd:]) {
		t.Fatal("MAC2 set without a cookie")
	}
	if ck.CheckMAC2(msg, src, t0) {
		t.Fatal("zero MAC2 verifies")
	}
	r, err := ck.CreateReply(msg, p.aIndex, src, t0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Receiver != p.aIndex {
		t.Fatalf("reply receiver %#x, want %#x", r.Receiver, p.aIndex)
	}
	if err := gen.ConsumeReply(r, t0); err != nil {
		t.Fatalf("ConsumeReply: %v", err)
	}
	if err := gen.ConsumeReply(r, t0); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("replayed cookie reply: %v, want ErrDecrypt", err)
	}

	for _, tc := range []struct {
		name     string
		stampAt  time.Duration // after the cookie arrived
		checkAt  time.Duration
		src      string
		wantMAC2 bool // MAC2 present and verifying
	}{
		{"fresh", time.Second, time.Second, "198.51.100.9:4242", true},
		{"other port", time.Second, time.Second, "198.51.100.9:4243", false},
		{"other address", time.Second, time.Second, "198.51.100.10:4242", false},
		{"generator inside its margin", 114 * time.Second, 114 * time.Second, "198.51.100.9:4242", true},
		{"generator past its margin", 116 * time.Second, 116 * time.Second, "198.51.100.9:4242", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewCookieGenerator(p.b.Public)
			r, err := ck.CreateReply(stampedInitiation(t, p, g, t0), p.aIndex, src, t0)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.ConsumeReply(r, t0); err != nil {
				t.Fatal(err)
			}
			m := stampedInitiation(t, p, g, t0.Add(tc.stampAt))
			s := AppendSource(nil, netip.MustParseAddrPort(tc.src))
			if got := ck.CheckMAC2(m, s, t0.Add(tc.checkAt)); got != tc.wantMAC2 {
				t.Fatalf("CheckMAC2 = %v, want %v (mac2 %x)", got, tc.wantMAC2, m[len(m)-16:])
			}
			if !ck.CheckMAC1(m) {
				t.Fatal("MAC1 does not verify")
			}
		})
	}

	// The responder's secret expires after two minutes: an old cookie is
	// worthless and a new reply carries a different cookie.
	m := stampedInitiation(t, p, gen, t0.Add(time.Second))
	if ck.CheckMAC2(m, src, t0.Add(CookieSecretMaxAge+time.Second)) {
		t.Fatal("MAC2 verifies after the secret expired")
	}
	r2, err := ck.CreateReply(m, p.aIndex, src, t0.Add(CookieSecretMaxAge+time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := gen.ConsumeReply(r2, t0.Add(CookieSecretMaxAge+time.Second)); err != nil {
		t.Fatal(err)
	}
	if gen.cookie == ([16]byte{}) || ck.CheckMAC2(m, src, t0.Add(CookieSecretMaxAge+time.Second)) {
		t.Fatal("old MAC2 verifies under the rotated secret")
	}
	m = stampedInitiation(t, p, gen, t0.Add(CookieSecretMaxAge+2*time.Second))
	if !ck.CheckMAC2(m, src, t0.Add(CookieSecretMaxAge+2*time.Second)) {
		t.Fatal("MAC2 with the new cookie does not verify")
	}
}

func TestCookieReplyTamper(t *testing.T) {
	p := newTestPair(t, PresharedKey{})
	gen := NewCookieGenerator(p.b.Public)
	ck := NewCookieChecker(p.b.Public, rand.Reader)
	src := AppendSource(nil, netip.MustParseAddrPort("[2001:db8::5]:1"))

	if err := gen.ConsumeReply(&wire.CookieReply{}, testNow); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("reply before any message was sent: %v, want ErrDecrypt", err)
	}
	msg := stampedInitiation(t, p, gen, testNow)
	r, err := ck.CreateReply(msg, p.aIndex, src, testNow)
	if err != nil {
		t.Fatal(err)
	}
	var good [wire.CookieReplySize]byte
	r.Marshal(good[:])
	for i := 8; i < wire.CookieReplySize; i++ { // nonce and encrypted cookie
		b := good
		b[i] ^= 0x20
		bad, err := wire.ParseCookieReply(b[:])
		if err != nil {
			t.Fatal(err)
		}
		if err := gen.ConsumeReply(&bad, testNow); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("byte %d: %v, want ErrDecrypt", i, err)
		}
	}
	// A reply to an older message (another MAC1) does not decrypt.
	stampedInitiation(t, p, gen, testNow.Add(time.Second))
	if err := gen.ConsumeReply(r, testNow); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("reply to a superseded message: %v, want ErrDecrypt", err)
	}
	// A reply from another responder's key does not decrypt either.
	other := NewCookieChecker(p.a.Public, rand.Reader)
	last := stampedInitiation(t, p, gen, testNow.Add(2*time.Second))
	ro, err := other.CreateReply(last, p.aIndex, src, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := gen.ConsumeReply(ro, testNow); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("reply under another key: %v, want ErrDecrypt", err)
	}
}

func TestCookieShortMessages(t *testing.T) {
	ck := NewCookieChecker(PublicKey{9}, rand.Reader)
	gen := NewCookieGenerator(PublicKey{9})
	for _, n := range []int{0, 1, 31} {
		b := make([]byte, n)
		gen.AddMACs(b, testNow) // must not panic
		if ck.CheckMAC1(b) || ck.CheckMAC2(b, nil, testNow) {
			t.Errorf("%d-byte message verifies", n)
		}
		if _, err := ck.CreateReply(b, 0, nil, testNow); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("CreateReply on %d bytes: %v, want ErrMalformed", n, err)
		}
	}
	if _, err := NewCookieChecker(PublicKey{9}, iotestErrReader{}).CreateReply(make([]byte, 64), 0, nil, testNow); !errors.Is(err, errTestRand) {
		t.Errorf("CreateReply with failing rand: %v", err)
	}
}

func TestAppendSource(t *testing.T) {
	for _, tc := range []struct {
		name, addr, want string
	}{
		{"ipv4", "192.0.2.1:51820", "c0000201ca6c"},
		{"v4-mapped is unmapped", "[::ffff:192.0.2.1]:51820", "c0000201ca6c"},
		{"ipv6", "[2001:db8::1]:1", "20010db80000000000000000000000010001"},
		{"port zero", "10.0.0.1:0", "0a0000010000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := hex.EncodeToString(AppendSource([]byte{}, netip.MustParseAddrPort(tc.addr)))
			if got != tc.want {
				t.Fatalf("AppendSource(%s) = %s, want %s", tc.addr, got, tc.want)
			}
		})
	}
	buf := make([]byte, 0, 18)
	ap := netip.MustParseAddrPort("[2001:db8::1]:1")
	if n := testing.AllocsPerRun(100, func() { buf = AppendSource(buf[:0], ap) }); n != 0 {
		t.Errorf("AppendSource allocates %v times", n)
	}
}

// TestCookieConcurrent exercises checker and generator from many goroutines
// (meaningful under -race).
func TestCookieConcurrent(t *testing.T) {
	p := newTestPair(t, PresharedKey{})
	gen := NewCookieGenerator(p.b.Public)
	ck := NewCookieChecker(p.b.Public, rand.Reader)
	src := AppendSource(nil, netip.MustParseAddrPort("192.0.2.1:1"))
	msg := stampedInitiation(t, p, gen, testNow)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := append([]byte(nil), msg...)
			for j := range 50 {
				now := testNow.Add(time.Duration(i*50+j) * time.Second)
				gen.AddMACs(b, now)
				if r, err := ck.CreateReply(b, 1, src, now); err == nil {
					_ = gen.ConsumeReply(r, now)
				}
				ck.CheckMAC1(b)
				ck.CheckMAC2(b, src, now)
			}
		}()
	}
	wg.Wait()
}
