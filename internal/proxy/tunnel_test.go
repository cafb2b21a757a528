package proxy

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/warren-vpn/warren/internal/testenv"
)

// TestPingFromPeer: the reference pings warren's tunnel address through
// the tunnel and the userspace stack answers.
func TestPingFromPeer(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	pc, err := env.ref.net.DialPingAddr(netip.Addr{}, warrenV4)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	req, err := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: 1, Seq: 1, Data: []byte("warren?")}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	for try := 0; ; try++ {
		if _, err := pc.Write(req); err != nil {
			t.Fatal(err)
		}
		pc.SetReadDeadline(time.Now().Add(time.Second))
		n, err := pc.Read(buf)
		if err == nil {
			m, err := icmp.ParseMessage(1, buf[:n])
			if err != nil {
				t.Fatal(err)
			}
			if m.Type != ipv4.ICMPTypeEchoReply || string(m.Body.(*icmp.Echo).Data) != "warren?" {
				t.Fatalf("reply %+v", m)
			}
			return
		}
		if try == 5 {
			t.Fatal(err)
		}
	}
}

func TestLookupAddr(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	a, err := env.tun.LookupAddr(ctx, refName)
	if err != nil || (a != refV4 && a != refV6) {
		t.Fatalf("LookupAddr(%q) = %v, %v", refName, a, err)
	}
	if _, err := env.tun.LookupAddr(ctx, "nx.tunnel.test"); !errors.Is(err, ErrResolve) {
		t.Errorf("unknown name: %v, want ErrResolve", err)
	}
	_, err = env.tun.DialContext(ctx, "tcp", "192.0.2.1:80")
	var de *DialError
	if !errors.As(err, &de) || !errors.Is(err, ErrNoRoute) {
		t.Errorf("dial outside AllowedIPs: %v, want a DialError with ErrNoRoute", err)
	}
}
