package noise

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wire"
	"golang.org/x/crypto/blake2s"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// detRand is a deterministic byte stream (a BLAKE2s hash chain) standing in
// for crypto/rand so that transcripts are reproducible.
type detRand struct{ state [32]byte }

func newDetRand(seed string) *detRand { return &detRand{state: blake2s.Sum256([]byte(seed))} }

func (r *detRand) Read(p []byte) (int, error) {
	for n := 0; n < len(p); {
		r.state = blake2s.Sum256(r.state[:])
		n += copy(p[n:], r.state[:])
	}
	return len(p), nil
}

func fixedPrivateKey(b byte) PrivateKey {
	var k PrivateKey
	for i := range k {
		k[i] = b
	}
	return k.Clamped()
}

// transcript runs a fully deterministic handshake and cookie exchange and
// returns its named byte strings in order.
func transcript(t testing.TB) [][2]string {
	t.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	rnd := newDetRand("warren transcript")
	ai, bi := NewIdentity(fixedPrivateKey(0x11)), NewIdentity(fixedPrivateKey(0x22))
	psk := PresharedKey{31: 0x33}
	ap, err := NewPeerKeys(ai, bi.Public, psk)
	if err != nil {
		t.Fatal(err)
	}
	bp, err := NewPeerKeys(bi, ai.Public, psk)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	add := func(name string, b []byte) { out = append(out, [2]string{name, hex.EncodeToString(b)}) }
	add("initiator_public", ai.Public[:])
	add("responder_public", bi.Public[:])

	m1, ini, err := CreateInitiation(ai, ap, 0x01020304, now, rnd)
	if err != nil {
		t.Fatal(err)
	}
	gen := NewCookieGenerator(bi.Public)
	var b1 [wire.InitiationSize]byte
	gen.AddMACs(m1.Marshal(b1[:]), now)
	add("initiation", b1[:])

	ck := NewCookieChecker(bi.Public, rnd)
	if !ck.CheckMAC1(b1[:]) {
		t.Fatal("MAC1 of the transcript initiation does not verify")
	}
	ci, err := ConsumeInitiation(bi, m1)
	if err != nil {
		t.Fatal(err)
	}
	m2, rkp, err := ci.CreateResponse(bp, 0x05060708, rnd)
	if err != nil {
		t.Fatal(err)
	}
	var b2 [wire.ResponseSize]byte
	NewCookieGenerator(ai.Public).AddMACs(m2.Marshal(b2[:]), now)
	add("response", b2[:])
	ikp, err := ini.ConsumeResponse(ai, ap, m2)
	if err != nil {
		t.Fatal(err)
	}
	if ikp.Send != rkp.Receive || ikp.Receive != rkp.Send {
		t.Fatal("transcript keypairs do not mirror")
	}
	add("initiator_send", ikp.Send[:])
	add("initiator_receive", ikp.Receive[:])

	src := AppendSource(nil, netip.MustParseAddrPort("[2001:db8::1]:51820"))
	add("cookie_source", src)
	r, err := ck.CreateReply(b1[:], m1.Sender, src, now)
	if err != nil {
		t.Fatal(err)
	}
	var b3 [wire.CookieReplySize]byte
	add("cookie_reply", r.Marshal(b3[:]))
	if err := gen.ConsumeReply(r, now); err != nil {
		t.Fatal(err)
	}
	gen.AddMACs(b1[:], now.Add(time.Second))
	if !ck.CheckMAC2(b1[:], src, now.Add(time.Second)) {
		t.Fatal("MAC2 of the transcript initiation does not verify")
	}
	add("initiation_with_mac2", b1[:])
	return out
}

func TestGoldenTranscript(t *testing.T) {
	path := filepath.Join("testdata", "transcript.golden")
	got := transcript(t)
	again := transcript(t)
	for i := range got {
		if got[i] != again[i] {
			t.Fatalf("transcript is not deterministic at %s", got[i][0])
		}
	}
	if *update {
		var buf bytes.Buffer
		fmt.Fprintln(&buf, "# Deterministic Noise_IKpsk2 transcript: see transcript() in golden_test.go.")
		for _, kv := range got {
			fmt.Fprintf(&buf, "%s %s\n", kv[0], kv[1])
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	defer f.Close()
	var want [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad golden line %q", line)
		}
		want = append(want, [2]string{name, value})
	}
	if len(want) != len(got) {
		t.Fatalf("golden has %d entries, transcript %d", len(want), len(got))
	}
	for i := range want {
		if want[i] != got[i] {
			t.Errorf("%s:\n got %s\nwant %s:%s", got[i][0], got[i][1], want[i][0], want[i][1])
		}
	}
}
