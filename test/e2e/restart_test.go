//go:build linux

package e2e

import (
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"
)

// TestRestart: start-up next to leftovers. After a daemon (a) is killed
// with SIGKILL, its stale UAPI socket does not stop a new daemon (b) for
// the same interface name; and a daemon (b) started for an interface that
// a live daemon (a) already serves fails, leaving the live one working,
// also when the second runs in another namespace and only the UAPI socket
// path collides.
func TestRestart(t *testing.T) {
	forEachPair(t, func(t *testing.T, a, b *Impl) {
		t.Run("after-SIGKILL", func(t *testing.T) {
			p := newPairNet(t, a, a, pairOpts{})
			p.NSA.Ping(innerB4)
			old := p.A
			old.stopped = true
			if err := old.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			if _, err := old.WaitExit(time.Now()); err == nil {
				t.Fatalf("SIGKILLed daemon exited 0?")
			}
			// The kernel removes the TUN with its last file; the socket
			// file stays behind.
			if _, err := os.Stat(old.Socket()); err != nil {
				t.Logf("no stale socket left behind (%v)", err)
			}
			d := SpawnDaemon(t, b, p.NSA, old.Iface)
			d.Port = old.Port + 1
			d.waitSocket()
			d.SetConf(p.B.PeerOf(p.B.Endpoint(outerB4), innerB4+"/32", innerB6+"/128"))
			p.B.SetConf(d.PeerOf("", innerA4+"/32", innerA6+"/128"))
			d.Up(0, innerA4+"/24", innerA6+"/64")
			p.NSA.Ping(innerB4)
			p.NSB.PingCount(innerA4, 3)
		})

		t.Run("interface-in-use", func(t *testing.T) {
			p := newPairNet(t, a, a, pairOpts{})
			p.NSA.Ping(innerB4)
			second := SpawnDaemon(t, b, p.NSA, p.A.Iface)
			second.stopped = true
			_, err := second.WaitExit(time.Now())
			if err == nil {
				t.Errorf("a second %s daemon for %s (already served by %s) exited 0, want failure", b.Name, p.A.Iface, a.Name)
			}
			t.Logf("second daemon: %v\n%s", err, second.logTail())
			if _, err := os.Stat(p.A.Socket()); errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the failed second daemon removed the live daemon's UAPI socket")
			}
			p.NSA.PingCount(innerB4, 3)
			p.NSB.PingCount(innerA4, 3)
			p.A.Wg("show", p.A.Iface)
		})

		t.Run("socket-in-use", func(t *testing.T) {
			// The same interface name in another namespace: the TUN can
			// be made there, but the UAPI socket path (not namespaced) is
			// taken by a live daemon.
			p := newPairNet(t, a, a, pairOpts{})
			p.NSA.Ping(innerB4)
			other := NewNetns(t, "other")
			second := SpawnDaemon(t, b, other, p.A.Iface)
			second.stopped = true
			_, err := second.WaitExit(time.Now())
			if err == nil {
				t.Errorf("a second %s daemon whose UAPI socket is taken by a live %s exited 0, want failure", b.Name, a.Name)
			}
			t.Logf("second daemon: %v\n%s", err, second.logTail())
			if _, err := os.Stat(p.A.Socket()); errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the failed second daemon removed the live daemon's UAPI socket")
			}
			if out, err := other.Run("ip", "link", "show", "dev", p.A.Iface); err == nil {
				t.Errorf("the failed second daemon left its interface behind:\n%s", out)
			}
			p.NSA.PingCount(innerB4, 3)
			if got := p.A.Wg("show", p.A.Iface, "public-key"); got != p.A.Public.String()+"\n" {
				t.Errorf("the UAPI socket now answers for another device: public key %q", got)
			}
		})
	})
}
