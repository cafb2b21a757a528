package device

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/clock"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/wire"
)

// TestHandshakeRetryLog: the verbose log has one line per retried
// handshake, worded as wireguard-go words it ("Handshake did not complete
// after 5 seconds, retrying (try N)", N counting from 2), and one when the
// retries give up.
func TestHandshakeRetryLog(t *testing.T) {
	clk := clock.NewManual(testEpoch)
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	var log syncBuffer
	a := newNodeWith(t, n, 1, clk, nodeConfig{logger: &Logger{
		Verbosef: func(f string, args ...any) { fmt.Fprintf(&log, f+"\n", args...) },
		Errorf:   func(f string, args ...any) { fmt.Fprintf(&log, f+"\n", args...) },
	}})
	b := newNode(t, n, 2, clk)
	connect(t, a, b)
	tp := installTap(n)
	n.SetBlocked(a.addr, b.addr, true)
	if err := a.tun.Inject(ipv4(a.v4, b.v4, []byte("nobody home"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first initiation", func() bool { return tp.count(a.addr, wire.TypeInitiation) == 1 })
	advance(clk, 3*RekeyTimeout+RekeyTimeoutJitterMax, a, b)
	retry := regexp.MustCompile(`- Handshake did not complete after 5 seconds, retrying \(try (\d+)\)$`)
	var tries []string
	for _, l := range strings.Split(log.String(), "\n") {
		if m := retry.FindStringSubmatch(l); m != nil {
			tries = append(tries, m[1])
		}
	}
	if got := strings.Join(tries, ","); !strings.HasPrefix(got, "2,3") {
		t.Errorf("retry lines tried %q, want 2,3,...; log:\n%s", got, log.String())
	}
	advance(clk, 100*time.Second, a, b)
	if !strings.Contains(log.String(), fmt.Sprintf("Handshake did not complete after %d attempts, giving up", MaxTimerHandshakes+2)) {
		t.Errorf("no line when the retries gave up; log:\n%s", log.String())
	}
}
