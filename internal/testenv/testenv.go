// Package testenv is test support shared by warren's packages.
//
// It decides what a test does when the machine lacks something it needs
// (root, TUN, network namespaces, a tool). On a developer's machine such a
// test skips with a message saying what is missing; in CI (the CI
// environment variable set, as .ci/run runs) it fails instead, because CI
// installs everything the tests need and a skip there would let a green
// run prove less than it seems.
//
// It also holds the set-up tests repeat across packages: the check that a
// test leaves no goroutine running (CheckGoroutines, CheckGoroutinesIn),
// servers that run until the test ends and must then stop cleanly (Serve,
// ServeConns, ServePackets), and running the test binary as an
// unprivileged user (AsNobody). Network namespaces are internal/netnstest's;
// the reference implementation, run on a simulated network, is
// internal/netsim/wgref's.
//
// It imports only the standard library and is imported only by tests.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI, where nothing may be skipped
// for lack of root, a device or a tool.
func InCI() bool { return os.Getenv("CI") != "" }

// Missing skips t with the message, or fails it in CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI must run this test, but: "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}

// RequireRoot needs an effective uid of 0 (network namespaces, TUN).
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "needs root (CAP_NET_ADMIN) for network namespaces and TUN devices")
	}
}

// RequireTUN needs /dev/net/tun.
func RequireTUN(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		Missing(t, "no /dev/net/tun: %v", err)
	}
}

// RequireTool needs bin on PATH; pkg is the Debian package that has it.
func RequireTool(t testing.TB, bin, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(bin); err != nil {
		Missing(t, "needs %s (apt-get install %s)", bin, pkg)
	}
}
