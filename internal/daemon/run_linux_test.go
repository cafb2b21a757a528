package daemon

import (
	"bytes"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/warren-vpn/warren/internal/netnstest"
	"github.com/warren-vpn/warren/internal/testenv"
	"github.com/warren-vpn/warren/internal/tun"
)

// TestBadInlineBatch: a malformed WARREN_INLINE_BATCH fails the daemon at
// once, naming the variable, before any interface is created.
func TestBadInlineBatch(t *testing.T) {
	t.Setenv("WARREN_INLINE_BATCH", "lots")
	var out, errb bytes.Buffer
	const iface = "wrinl0"
	if code := Main("warren daemon", []string{"-f", iface}, &out, &errb); code == 0 {
		t.Fatal("exit code 0 with WARREN_INLINE_BATCH=lots")
	}
	if !strings.Contains(errb.String(), `WARREN_INLINE_BATCH="lots"`) {
		t.Errorf("stderr = %q, want it to name WARREN_INLINE_BATCH", errb.String())
	}
	if _, err := net.InterfaceByName(iface); err == nil {
		t.Errorf("interface %s exists after the failed start", iface)
	}
}

// TestExistingInterface: an interface of that name that is not a TUN
// device, or a TUN device another process holds, gives one line, "interface
// NAME already exists", and nothing else on stdout or stderr.
func TestExistingInterface(t *testing.T) {
	testenv.RequireTUN(t)
	ns := netnstest.New(t, "wrex")
	netnstest.IP(t, "-n", ns, "link", "add", "wrex0", "type", "veth", "peer", "name", "wrex1")
	netnstest.Run(t, ns, func() {
		held, err := tun.CreateWithOptions("wrtun0", DefaultMTU, tun.Options{})
		if err != nil {
			t.Errorf("create wrtun0: %v", err)
			return
		}
		defer held.Close()
		for _, name := range []string{"wrex0", "wrtun0"} {
			var out, errb bytes.Buffer
			code := Main("warren daemon", []string{"-f", name}, &out, &errb)
			want := "warren daemon: interface " + name + " already exists\n"
			if code == 0 || errb.String() != want || out.Len() != 0 {
				t.Errorf("%s: exit %d, stdout %q, stderr %q; want stderr %q", name, code, out.String(), errb.String(), want)
			}
		}
	})
	if _, err := os.Stat(socketPath("wrex0")); err == nil {
		t.Errorf("a socket for wrex0 was left")
	}
}

// TestHelpCreatesNothing: `warren daemon --help` as root in a fresh
// namespace creates no interface there, not even for a moment (the
// namespace's link events are watched), and no socket named after the flag.
func TestHelpCreatesNothing(t *testing.T) {
	ns := netnstest.New(t, "wrhelp")
	updates, done := make(chan netlink.LinkUpdate, 64), make(chan struct{})
	defer close(done)
	netnstest.Run(t, ns, func() {
		// The subscription's socket stays in the namespace it was made in.
		if err := netlink.LinkSubscribe(updates, done); err != nil {
			t.Error(err)
			return
		}
		for _, args := range [][]string{{"--help"}, {"-h"}, {"-f", "--help"}, {"-f", "-h"}} {
			Main("warren daemon", args, io.Discard, io.Discard)
		}
	})
	if t.Failed() {
		return
	}
	// A marker link: once its event arrives, any earlier one has too.
	netnstest.IP(t, "-n", ns, "link", "add", "wrmark0", "type", "veth", "peer", "name", "wrmark1")
	timeout := time.After(10 * time.Second)
wait:
	for {
		select {
		case u := <-updates:
			switch name := u.Link.Attrs().Name; name {
			case "wrmark0", "wrmark1":
				break wait
			case "lo":
			default:
				t.Errorf("--help made link %q appear (event %d)", name, u.Header.Type)
			}
		case <-timeout:
			t.Fatal("no event for the marker link")
		}
	}
	for _, name := range []string{"--help", "-h"} {
		if _, err := os.Stat(socketPath(name)); err == nil {
			t.Errorf("socket %s exists after --help", socketPath(name))
		}
	}
}
