package quick

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/warren-vpn/warren/internal/safedir"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

const (
	// daemonStartTimeout bounds starting the userspace device.
	daemonStartTimeout = 15 * time.Second
	// socketWait bounds waiting for its UAPI socket.
	socketWait = 5 * time.Second
	// daemonExitWait bounds waiting for it to exit once its link is gone.
	daemonExitWait = 3 * time.Second
)

// startDaemon starts the userspace device as wg-quick does when the kernel
// has no WireGuard: `warren daemon IFACE` (or
// $WG_QUICK_USERSPACE_IMPLEMENTATION IFACE), which puts itself in the
// background once the interface and its UAPI socket exist.
func (e *env) startDaemon(iface string, st *state) error {
	var name string
	var args []string
	own := false
	if impl := e.getenv("WG_QUICK_USERSPACE_IMPLEMENTATION"); impl != "" {
		name, args = impl, []string{iface}
	} else {
		own = true
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("start userspace device: %w: %w", ErrDaemon, err)
		}
		name, args = exe, []string{"daemon", iface}
	}
	e.logf("%s %s", name, strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(context.Background(), daemonStartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if own {
		// The binary picks its command by this name, whatever its file's.
		cmd.Args[0] = "warren"
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "WG_PROCESS_FOREGROUND" && k != "WG_TUN_FD" && k != "WG_UAPI_FD" && k != "WARREN_LOG_FILE" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if own {
		// Our device logs to a ring log in the background; without the
		// directory it runs without one.
		if err := safedir.Ensure(DaemonLogDir, 0o700); err != nil {
			e.warnf("[!] No log file for %s: %v", iface, err)
		} else {
			cmd.Env = append(cmd.Env, "WARREN_LOG_FILE="+DaemonLogPath(iface))
		}
	}
	// Files, not pipes: the background child may keep them open, and a
	// pipe would make Run wait for it.
	out, err := os.CreateTemp("", "warren-daemon-")
	if err != nil {
		return fmt.Errorf("start userspace device: %w: %w", ErrDaemon, err)
	}
	os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	runErr := cmd.Run()
	var output []byte
	if _, err := out.Seek(0, io.SeekStart); err == nil {
		output, _ = io.ReadAll(io.LimitReader(out, 1<<20))
	}
	if runErr != nil {
		rest, err := daemonError(output, fmt.Sprintf("%s %s", name, strings.Join(args, " ")), runErr)
		e.stderr.Write(rest)
		return err
	}
	e.stderr.Write(output)
	st.Started = true
	deadline := time.Now().Add(socketWait)
	for {
		conn, err := uapi.Dial(uapi.DefaultSocketDir, iface)
		if err == nil {
			st.PID = daemonPID(iface, peerPID(conn))
			st.PIDStart, _ = procStart(st.PID)
			conn.Close()
			return nil
		}
		// A socket nobody listens on: the device died.
		if errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			return fmt.Errorf("reach userspace device %s: %w: %w", iface, ErrDaemon, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// peerPID is the process at the other end of a unix socket, 0 if unknown.
func peerPID(conn net.Conn) int {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return 0
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0
	}
	pid := 0
	raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			pid = int(cred.Pid)
		}
	})
	return pid
}

// daemonPID finds the process serving iface: the one that listened on its
// socket (hint) if it still runs, else — it forked into the background —
// a process whose last argument is iface and which holds a TUN device.
func daemonPID(iface string, hint int) int {
	if hint > 0 && isDaemon(hint, iface) {
		return hint
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err == nil && pid != os.Getpid() && isDaemon(pid, iface) {
			return pid
		}
	}
	return 0
}

// isDaemon reports whether pid runs with iface as its last argument and
// holds /dev/net/tun open.
func isDaemon(pid int, iface string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
	if args[len(args)-1] != iface {
		return false
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, _ := os.ReadDir(dir)
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && target == "/dev/net/tun" {
			return true
		}
	}
	return false
}

// setDevice applies cfg through UAPI.
func setDevice(iface string, cfg *wgtypes.Config) error {
	conn, err := uapi.Dial(uapi.DefaultSocketDir, iface)
	if err != nil {
		return fmt.Errorf("configure %s: %w: %w", iface, ErrDaemon, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := uapi.Set(conn, cfg); err != nil {
		return fmt.Errorf("configure %s: %w", iface, err)
	}
	return nil
}

// getDevice reads the device's state through UAPI.
func getDevice(iface string) (*wgtypes.Device, error) {
	conn, err := uapi.Dial(uapi.DefaultSocketDir, iface)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", iface, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	dev, err := uapi.Get(conn)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", iface, err)
	}
	return dev, nil
}

// waitDaemon waits for the device process to exit after its link went
// away, and stops it if it does not. The process is pid only while it
// still has the start time recorded with it (start); a record without one
// (written by an older warren) is trusted only for a process that looks
// like the daemon of iface (isDaemon). Anything else is another process
// that reused the number, and is left alone.
func waitDaemon(iface string, pid int, start uint64) error {
	if pid <= 0 {
		return nil
	}
	alive := func() bool {
		if start != 0 {
			got, ok := procStart(pid)
			return ok && got == start && !zombie(pid)
		}
		return isDaemon(pid, iface) && !zombie(pid)
	}
	waitGone := func() bool {
		for deadline := time.Now().Add(daemonExitWait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if !alive() {
				return true
			}
		}
		return !alive()
	}
	if !waitGone() {
		syscall.Kill(pid, syscall.SIGTERM)
		waitGone()
	}
	if alive() {
		return fmt.Errorf("userspace device of %s (pid %d) does not exit: %w", iface, pid, ErrDaemon)
	}
	return nil
}

// procStart is a process's start time in clock ticks since boot (field 22
// of /proc/PID/stat): together with the PID it names one process for the
// machine's uptime.
func procStart(pid int) (uint64, bool) {
	if pid <= 0 {
		return 0, false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces
	// and parentheses itself: fields are counted after the last ')'.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(fields[19], 10, 64)
	return n, err == nil
}

// zombie reports whether pid has exited and waits to be reaped.
func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && strings.HasPrefix(strings.TrimSpace(string(stat[i+1:])), "Z")
}

// removeStaleSocket removes the UAPI socket file of a device that is gone.
func removeStaleSocket(iface string) error {
	path := filepath.Join(uapi.DefaultSocketDir, iface+".sock")
	if _, err := os.Lstat(path); err != nil {
		return nil
	}
	conn, err := uapi.Dial(uapi.DefaultSocketDir, iface)
	if err == nil {
		conn.Close()
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}
