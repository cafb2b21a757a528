//go:build linux

package e2e

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLossyLink: the initiator's first handshake initiation is lost and
// the outer link then drops 5% of large packets each way. The initiator
// must retry the handshake (after REKEY_TIMEOUT, 5 s), and TCP through the
// tunnel must still deliver 8 MiB intact each way.
func TestLossyLink(t *testing.T) {
	requireEnv(t)
	requireTool(t, "nft", "nftables")
	forEachPairParallel(t, func(t *testing.T, a, b *Impl) {
		p := newPairNet(t, a, b, pairOpts{})
		// An initiation is 148 bytes of UDP payload: 156 bytes of UDP.
		rules := strings.Join([]string{
			"table inet e2eloss {",
			"  chain out {",
			"    type filter hook output priority 0; policy accept;",
			`    oifname "va" udp length 156 quota until 200 bytes counter drop`,
			`    oifname "va" meta length > 400 numgen random mod 100 < 5 counter drop`,
			"  }",
			"  chain in {",
			"    type filter hook input priority 0; policy accept;",
			`    iifname "va" meta length > 400 numgen random mod 100 < 5 counter drop`,
			"  }",
			"}",
		}, "\n")
		cmd := p.NSA.Command(t.Context(), "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(rules)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nft: %v\n%s", err, out)
		}

		start := time.Now()
		p.NSA.Ping(innerB4)
		took := time.Since(start)
		if dropped := nftDropped(t, p.NSA); dropped != 1 {
			t.Fatalf("the rule dropped %d initiations, want exactly the first", dropped)
		}
		t.Logf("%s retried the lost initiation: tunnel up after %v", a.Name, took.Round(time.Millisecond))
		if took < 4*time.Second {
			t.Errorf("tunnel up %v after the first initiation was lost: the retry came before REKEY_TIMEOUT (5 s)", took)
		}
		d1 := Transfer(t, p.NSA, p.NSB, net.JoinHostPort(innerB4, "5203"), 8<<20, 5)
		d2 := Transfer(t, p.NSB, p.NSA, net.JoinHostPort(innerA4, "5203"), 8<<20, 6)
		lost := nftRandomDrops(t, p.NSA)
		t.Logf("8 MiB through 5%% loss: %v there, %v back; %d large packets dropped", d1.Round(time.Millisecond), d2.Round(time.Millisecond), lost)
		if lost == 0 {
			t.Errorf("no packet was dropped: the lossy link was not lossy")
		}
	})
}

var nftCounter = regexp.MustCompile(`quota 200 bytes[^\n]*counter packets (\d+)`)

// nftDropped is how many packets the initiation-dropping rule matched.
func nftDropped(t *testing.T, ns *Netns) int {
	t.Helper()
	out := ns.Must("nft", "list", "table", "inet", "e2eloss")
	m := nftCounter.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no counter in:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

var nftRandom = regexp.MustCompile(`numgen random mod 100 < 5 counter packets (\d+)`)

// nftRandomDrops is how many large packets the random-loss rules dropped.
func nftRandomDrops(t *testing.T, ns *Netns) int {
	t.Helper()
	total := 0
	for _, m := range nftRandom.FindAllStringSubmatch(ns.Must("nft", "list", "table", "inet", "e2eloss"), -1) {
		n, _ := strconv.Atoi(m[1])
		total += n
	}
	return total
}
