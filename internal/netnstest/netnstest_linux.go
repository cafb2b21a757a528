// Package netnstest is test support for code that must run inside network
// namespaces the test creates: a namespace with lo up that is deleted when
// the test ends, and running a function on an OS thread inside one. It is
// imported only by _test.go files and imports nothing of this module.
package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/testenv"
	"golang.org/x/sys/unix"
)

// IP runs `ip args...` and fails t with its output if it fails.
func IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// New creates a network namespace named prefix plus a random suffix, with
// lo up, deleted when the test ends. It skips t when not root or without
// iproute2's ip command.
func New(t testing.TB, prefix string) string {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ip", "iproute2")
	var r [4]byte
	rand.Read(r[:])
	name := prefix + hex.EncodeToString(r[:])
	IP(t, "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	IP(t, "-n", name, "link", "set", "lo", "up")
	return name
}

// Run runs fn on an OS thread switched into namespace ns; sockets and TUN
// queues fn opens stay in it. The thread is discarded afterwards.
func Run(t testing.TB, ns string, fn func()) {
	t.Helper()
	f, err := os.Open("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		fn()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatalf("setns %s: %v", ns, err)
	}
}
