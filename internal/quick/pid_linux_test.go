package quick

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestWaitDaemonSparesReusedPID: down signals the recorded daemon only
// while the PID still names the same process (its start time); another
// process that got the number, even one whose command line holds the
// interface's name, is left alone.
func TestWaitDaemonSparesReusedPID(t *testing.T) {
	const iface = "wqpid0"
	start := func() (*exec.Cmd, uint64) {
		cmd := exec.Command("sh", "-c", "sleep 60; :", iface)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		st, ok := procStart(cmd.Process.Pid)
		if !ok || st == 0 {
			t.Fatalf("procStart(%d) = %d, %v", cmd.Process.Pid, st, ok)
		}
		return cmd, st
	}
	exited := func(cmd *exec.Cmd) bool {
		return syscall.Kill(cmd.Process.Pid, 0) != nil || zombie(cmd.Process.Pid)
	}

	other, st := start()
	if err := waitDaemon(iface, other.Process.Pid, st+1); err != nil {
		t.Errorf("waitDaemon on a reused PID: %v", err)
	}
	if exited(other) {
		t.Fatal("waitDaemon signalled a process that only reused the daemon's PID")
	}
	// A record without a start time (older warren): only a process that
	// looks like the daemon (holds /dev/net/tun) is ours.
	if err := waitDaemon(iface, other.Process.Pid, 0); err != nil {
		t.Errorf("waitDaemon without a start time: %v", err)
	}
	if exited(other) {
		t.Fatal("waitDaemon signalled a process whose command line merely contains the interface name")
	}

	// The recorded process itself is stopped when it does not exit.
	daemon, st := start()
	begin := time.Now()
	if err := waitDaemon(iface, daemon.Process.Pid, st); err != nil {
		t.Errorf("waitDaemon on the daemon: %v", err)
	}
	if !exited(daemon) {
		t.Errorf("waitDaemon left the recorded daemon running (after %v)", time.Since(begin))
	}
}

func TestProcStart(t *testing.T) {
	if _, ok := procStart(1 << 30); ok {
		t.Error("procStart of a missing PID succeeded")
	}
	a, ok1 := procStart(1)
	b, ok2 := procStart(1)
	if !ok1 || !ok2 || a != b {
		t.Errorf("procStart(1) = %d/%v, %d/%v: not stable", a, ok1, b, ok2)
	}
}
