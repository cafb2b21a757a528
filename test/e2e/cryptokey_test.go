//go:build linux

package e2e

import (
	"regexp"
	"strconv"
	"testing"
)

// TestCryptokeyRouting: what must NOT get through. A peer may only send
// from its AllowedIPs (the receiver drops spoofed inner sources), and a
// tunnel with a wrong peer key or mismatched preshared keys never
// completes a handshake; matching preshared keys work.
func TestCryptokeyRouting(t *testing.T) {
	forEachPairParallel(t, func(t *testing.T, a, b *Impl) {
		t.Run("spoofed-source", func(t *testing.T) {
			p := newPairNet(t, a, b, pairOpts{})
			p.NSA.Ping(innerB4)
			// B gets extra addresses outside what A allows for it, and
			// pings A from them: B encrypts, A must drop on decryption.
			p.NSB.AddAddr(p.B.Iface, "10.78.0.99/32")
			p.NSB.AddAddr(p.B.Iface, "fd78::99/128")
			rxA := tunRxPackets(t, p.NSA, p.A.Iface)
			rxPeer := p.A.Peer(p.B.Public).RxBytes
			p.NSB.NoPing(innerA4, "-I", "10.78.0.99")
			p.NSB.NoPing(innerA6, "-I", "fd78::99")
			if d := tunRxPackets(t, p.NSA, p.A.Iface) - rxA; d != 0 {
				t.Errorf("%s delivered %d packets with spoofed sources to its interface", a.Name, d)
			}
			t.Logf("%s's rx counter for the peer grew by %d bytes meanwhile", a.Name, p.A.Peer(p.B.Public).RxBytes-rxPeer)
			p.NSB.PingCount(innerA4, 3) // the proper source still works
		})

		t.Run("wrong-peer-key", func(t *testing.T) {
			p := newPairNet(t, a, b, pairOpts{})
			_, wrong := NewKeypair(t)
			p.A.Wg("set", p.A.Iface, "peer", p.B.Public.String(), "remove",
				"peer", wrong.String(), "endpoint", p.B.Endpoint(p.OuterB), "allowed-ips", innerB4+"/32")
			p.NSA.NoPing(innerB4)
			if hs := p.A.Peer(wrong).LastHandshake; hs != 0 {
				t.Errorf("%s completed a handshake with a peer key nobody has (%d)", a.Name, hs)
			}
			if hs := p.B.Peer(p.A.Public).LastHandshake; hs != 0 {
				t.Errorf("%s completed a handshake with an initiator that has the wrong key for it (%d)", b.Name, hs)
			}
		})

		t.Run("preshared-key", func(t *testing.T) {
			p := newPairNet(t, a, b, pairOpts{})
			psk, _ := NewKeypair(t)
			file := t.TempDir() + "/psk"
			writeFile(t, file, psk.String()+"\n")
			p.A.Wg("set", p.A.Iface, "peer", p.B.Public.String(), "preshared-key", file)
			p.B.Wg("set", p.B.Iface, "peer", p.A.Public.String(), "preshared-key", file)
			p.NSA.Ping(innerB4)
			p.NSB.PingCount(innerA6, 3)
		})

		t.Run("preshared-key-mismatch", func(t *testing.T) {
			p := newPairNet(t, a, b, pairOpts{})
			psk, _ := NewKeypair(t)
			file := t.TempDir() + "/psk"
			writeFile(t, file, psk.String()+"\n")
			p.A.Wg("set", p.A.Iface, "peer", p.B.Public.String(), "preshared-key", file)
			p.NSA.NoPing(innerB4)
			if hs := p.A.Peer(p.B.Public).LastHandshake; hs != 0 {
				t.Errorf("%s completed a handshake despite mismatched preshared keys", a.Name)
			}
			if hs := p.B.Peer(p.A.Public).LastHandshake; hs != 0 {
				t.Errorf("%s completed a handshake despite mismatched preshared keys", b.Name)
			}
		})
	})
}

var rxPackets = regexp.MustCompile(`RX:[^\n]*\n\s*\d+\s+(\d+)`)

// tunRxPackets is how many packets the kernel has received on dev, i.e.
// how many the daemon has written to its TUN device.
func tunRxPackets(t *testing.T, ns *Netns, dev string) int64 {
	t.Helper()
	out := ns.IP("-s", "link", "show", "dev", dev)
	m := rxPackets.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no RX packet count in:\n%s", out)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
