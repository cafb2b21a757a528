//go:build linux

package e2e

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestShutdown: a configured, running daemon exits with status 0 within a
// few seconds of SIGTERM or SIGINT, and its UAPI socket and interface are
// gone when it has; deleting the interface or the socket file also ends
// the daemon.
func TestShutdown(t *testing.T) {
	for _, c := range []struct {
		name string
		stop func(d *Daemon) (time.Duration, error)
	}{
		{"SIGTERM", func(d *Daemon) (time.Duration, error) { return d.Stop(syscall.SIGTERM) }},
		{"SIGINT", func(d *Daemon) (time.Duration, error) { return d.Stop(syscall.SIGINT) }},
		{"link-del", func(d *Daemon) (time.Duration, error) {
			start := time.Now()
			d.stopped = true
			d.NS.IP("link", "del", "dev", d.Iface)
			return d.WaitExit(start)
		}},
		// As wireguard-go: removing the UAPI socket file ends the daemon.
		{"socket-removed", func(d *Daemon) (time.Duration, error) {
			start := time.Now()
			d.stopped = true
			if err := os.Remove(d.Socket()); err != nil {
				d.t.Fatal(err)
			}
			return d.WaitExit(start)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im *Impl) {
				p := newPairNet(t, im, im, pairOpts{})
				p.NSA.PingCount(innerB4, 2)
				// The socket is for root alone, as wireguard-go makes it.
				if fi, err := os.Stat(p.A.Socket()); err != nil || fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm()&0o077 != 0 {
					t.Errorf("UAPI socket %s: %v, want a socket with no group/other permissions (%v)", p.A.Socket(), fi.Mode(), err)
				}
				elapsed, err := c.stop(p.A)
				t.Logf("%s daemon exited %v after %v", im.Name, err, elapsed)
				if err != nil {
					t.Errorf("%s daemon exited with %v, want status 0", im.Name, err)
				}
				if _, err := os.Stat(p.A.Socket()); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("UAPI socket %s still there after exit (stat: %v)", p.A.Socket(), err)
				}
				deadline := time.Now().Add(2 * time.Second)
				for {
					out, err := p.NSA.Run("ip", "link", "show", "dev", p.A.Iface)
					if err != nil {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("interface still there after the daemon exited:\n%s", out)
					}
					time.Sleep(50 * time.Millisecond)
				}
				// The peer side is unaffected and still running.
				if _, err := p.NSB.Run("wg", "show", p.B.Iface); err != nil {
					t.Errorf("the other daemon is gone too: %v", err)
				}
			})
		})
	}
}
