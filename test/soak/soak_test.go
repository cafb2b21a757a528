package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProbeDetectsAlteration(t *testing.T) {
	var b [probeLen]byte
	makeProbe(b[:], 12345)
	if seq, ok := checkProbe(b[:]); !ok || seq != 12345 {
		t.Fatalf("checkProbe of a good probe = %d, %v", seq, ok)
	}
	for _, i := range []int{0, 9, 16, 100, probeLen - 1} {
		c := b
		c[i] ^= 1
		if _, ok := checkProbe(c[:]); ok {
			t.Errorf("a probe with byte %d flipped passes", i)
		}
	}
	if _, ok := checkProbe(b[:probeLen-1]); ok {
		t.Error("a truncated probe passes")
	}
}

func TestHandshakeGapsCountTheEnd(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	hs := []time.Time{t0, t0.Add(120 * time.Second), t0.Add(240 * time.Second)}
	if g := handshakeGaps(hs, t0.Add(250*time.Second)); g != 120*time.Second {
		t.Errorf("regular rekeys: longest gap %v, want 2m0s", g)
	}
	// Rekeys that stop are a stall even though no two handshakes are far apart.
	end := t0.Add(600 * time.Second)
	if g := handshakeGaps(hs, end); g != 360*time.Second {
		t.Errorf("rekeys stopped: longest gap %v, want 6m0s", g)
	}
	if r := handshakeRow("A", hs, end); r.ok {
		t.Errorf("rekeys that stop pass: %s", r.result)
	}
	if r := handshakeRow("A", nil, end); r.ok {
		t.Error("no handshake at all passes")
	}
}

func TestFlatness(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	times := make([]time.Time, 10)
	for i := range times {
		times[i] = t0.Add(time.Duration(i) * time.Second)
	}
	warm := t0.Add(2 * time.Second) // samples 0 and 1 are warm-up
	cases := []struct {
		name  string
		vals  []int
		slack int
		ok    bool
	}{
		{"flat", []int{10, 50, 100, 101, 99, 100, 102, 100, 101, 100}, 0, true},
		{"warm-up growth ignored", []int{1, 2, 100, 100, 100, 100, 100, 100, 100, 100}, 0, true},
		{"growth past 10%", []int{100, 100, 100, 100, 100, 104, 108, 112, 112, 112}, 0, false},
		{"shrinking past 10%", []int{100, 100, 100, 100, 100, 90, 85, 85, 85, 85}, 0, false},
		{"slack for small counts", []int{8, 8, 8, 8, 8, 9, 10, 10, 10, 10}, 2, true},
		{"slack exceeded", []int{8, 8, 8, 8, 8, 9, 11, 11, 11, 11}, 2, false},
	}
	for _, c := range cases {
		if _, _, _, ok := flatness(c.vals, times, warm, c.slack); ok != c.ok {
			t.Errorf("%s: ok = %v, want %v", c.name, ok, c.ok)
		}
	}
	if _, _, _, ok := flatness([]int{1, 2, 3}, times[:3], warm, 0); ok {
		t.Error("fewer than three samples after warm-up pass")
	}
}

func TestScanLog(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	log := "DEBUG: (wg0) 2026/01/01 00:00:00 Interface up\n" +
		"DEBUG: (wg0) 2026/01/01 00:00:01 peer(x) - Failed to send handshake initiation: ERROR: no\n" +
		"ERROR: (wg0) 2026/01/01 00:00:02 close bind: boom\n" +
		"panic: runtime error: index out of range\n"
	if err := os.WriteFile(p, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	n, first, err := scanLog(p)
	if err != nil || n != 2 || !strings.Contains(first, "close bind") {
		t.Fatalf("scanLog = %d, %q, %v; want 2 lines from the ERROR one", n, first, err)
	}
}

func TestParseGet(t *testing.T) {
	lines := strings.Split(`private_key=0100000000000000000000000000000000000000000000000000000000000000
listen_port=51820
public_key=0200000000000000000000000000000000000000000000000000000000000000
preshared_key=0000000000000000000000000000000000000000000000000000000000000000
protocol_version=1
endpoint=[fd00::1]:51820
last_handshake_time_sec=1700000000
last_handshake_time_nsec=5
tx_bytes=0
rx_bytes=0
persistent_keepalive_interval=0
allowed_ip=10.0.0.2/32
allowed_ip=10.0.0.1/32
public_key=0300000000000000000000000000000000000000000000000000000000000000
preshared_key=0000000000000000000000000000000000000000000000000000000000000000
protocol_version=1
last_handshake_time_sec=0
last_handshake_time_nsec=0
tx_bytes=0
rx_bytes=0
persistent_keepalive_interval=0`, "\n")
	d, err := parseGet(lines)
	if err != nil {
		t.Fatal(err)
	}
	if d.listenPort != 51820 || d.privateKey[0] != 1 || len(d.peers) != 2 {
		t.Fatalf("device %+v", d)
	}
	p := d.peers[key{2}]
	if p.endpoint != "[fd00::1]:51820" || strings.Join(p.allowed, ",") != "10.0.0.1/32,10.0.0.2/32" ||
		!p.lastHandshake.Equal(time.Unix(1700000000, 5)) {
		t.Errorf("peer 2: %+v", p)
	}
	if q := d.peers[key{3}]; !q.lastHandshake.IsZero() || len(q.allowed) != 0 {
		t.Errorf("peer 3: %+v", q)
	}
}

// TestModelInvariants runs the churn on the model alone: whatever the
// operations, every prefix has one owner that lists it, the live peer is
// untouched, and the peer and prefix counts stay where they started.
func TestModelInvariants(t *testing.T) {
	live := newKey()
	dev := &deviceState{listenPort: 1, peers: map[key]*peerState{
		live: {endpoint: "192.0.2.1:1", allowed: []string{"10.250.0.2/32"}},
	}}
	for i := range 50 {
		dev.peers[newKey()] = &peerState{allowed: []string{fmt.Sprintf("10.64.0.%d/32", i)}}
	}
	m, err := newModel("A", "", dev, live, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5000 {
		name, body := m.randomOp()
		if body == "" {
			t.Fatalf("op %d (%s): empty body", i, name)
		}
		if strings.Contains(body, live.hex()) {
			t.Fatalf("op %d (%s) touches the live peer", i, name)
		}
	}
	if len(m.dev.peers) != 51 || len(m.idle) != 50 {
		t.Fatalf("%d peers, %d idle; want 51, 50", len(m.dev.peers), len(m.idle))
	}
	total := 0
	for k, p := range m.dev.peers {
		total += len(p.allowed)
		for _, a := range p.allowed {
			if m.owner[a] != k {
				t.Fatalf("prefix %s listed by a peer that does not own it", a)
			}
			if strings.HasPrefix(a, "10.250.") && k != live {
				t.Fatalf("churn gave the live pair's prefix %s to an idle peer", a)
			}
		}
	}
	if total != len(m.owner) || total != 51 {
		t.Fatalf("%d prefixes listed, %d owned; want 51", total, len(m.owner))
	}
	// A device that lost a prefix is told apart from the model.
	got := &deviceState{privateKey: m.dev.privateKey, listenPort: 1, peers: map[key]*peerState{}}
	for k, p := range m.dev.peers {
		c := *p
		got.peers[k] = &c
	}
	if d := m.diff(got, 5); len(d) != 0 {
		t.Fatalf("a faithful copy differs: %v", d)
	}
	got.peers[live].allowed = nil
	if d := m.diff(got, 5); len(d) != 1 || !strings.Contains(d[0], "allowed IPs") {
		t.Fatalf("diff of a lost prefix = %v", d)
	}
}

func TestSpuriousRetries(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	log := `DEBUG: (wg0) 2026/12/03 21:57:52 peer(MCmG…VDU=) - Sending handshake initiation
DEBUG: (wg0) 2026/12/03 21:57:52 peer(MCmG…VDU=) - Received handshake response
DEBUG: (wg0) 2026/12/03 21:57:52 peer(MCmG…VDU=) - Keypair 4257556062 created
DEBUG: (wg0) 2026/12/03 21:57:57 peer(MCmG…VDU=) - Handshake did not complete after 5s, retrying (try 2)
DEBUG: (wg0) 2026/12/03 21:57:57 peer(MCmG…VDU=) - Sending handshake initiation
DEBUG: (wg0) 2026/12/03 21:57:57 peer(xxxx…yyy=) - Sending handshake initiation
DEBUG: (wg0) 2026/12/03 21:58:02 peer(xxxx…yyy=) - Handshake did not complete after 5s, retrying (try 2)
DEBUG: (wg0) 2026/12/03 21:58:02 peer(MCmG…VDU=) - Handshake did not complete after 5s, retrying (try 3)
`
	if err := os.WriteFile(p, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	// Only the first retry follows an answered initiation; the other two
	// retry initiations nothing answered.
	n, first, err := spuriousRetries(p)
	if err != nil || n != 1 || !strings.Contains(first, "21:57:57 peer(MCmG") {
		t.Fatalf("spuriousRetries = %d, %q, %v; want the 21:57:57 retry alone", n, first, err)
	}
}

// A run under rssJudgedFrom reports RSS without judging it; threads and
// files are judged whatever the length, and a longer run judges RSS.
func TestShortRunRSSNotJudged(t *testing.T) {
	start := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	var ss []sample
	for i := range 30 {
		ss = append(ss, sample{T: start.Add(time.Duration(i) * 2 * time.Second), RSSKiB: 30000 + 500*i, Threads: 8, FDs: 13})
	}
	end := ss[len(ss)-1].T
	rows := resourceRows("A", ss, start, start.Add(30*time.Second), end)
	if !rows[0].ok || !strings.Contains(rows[0].result, "not judged") {
		t.Errorf("a one-minute run's RSS: %+v", rows[0])
	}
	long := resourceRows("A", ss, end.Add(-rssJudgedFrom), start.Add(30*time.Second), end)
	if long[0].ok {
		t.Errorf("a long run's growing RSS passed: %+v", long[0])
	}
}
