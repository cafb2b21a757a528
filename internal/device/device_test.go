package device

import (
	"testing"

	"github.com/warren-vpn/warren/internal/netsim"
)

func TestPingPong(t *testing.T) {
	checkGoroutines(t)
	_, a, b := newPair(t, netsim.Options{}, nil)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("hello over v4")))
	expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("hello back")))
	expectPacket(t, a, b, ipv6(a.v6, b.v6, []byte("hello over v6")))
	expectPacket(t, b, a, ipv6(b.v6, a.v6, []byte("and back over v6")))
	sa, sb := a.d.State(), b.d.State()
	if len(sa.Peers) != 1 || sa.Peers[0].LastHandshakeTime.IsZero() || sa.Peers[0].TxBytes == 0 || sa.Peers[0].RxBytes == 0 {
		t.Errorf("a's state: %+v", sa.Peers)
	}
	if len(sb.Peers) != 1 || sb.Peers[0].RxBytes == 0 {
		t.Errorf("b's state: %+v", sb.Peers)
	}
}
