package quick

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// reresolveInterval is the watcher's period: DefaultReresolveInterval, or
// WARREN_RERESOLVE_INTERVAL seconds.
func (e *env) reresolveInterval() time.Duration {
	if n, err := strconv.Atoi(e.getenv("WARREN_RERESOLVE_INTERVAL")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return DefaultReresolveInterval
}

// startWatcher leaves a process behind that looks endpoints up again when
// their peers' handshakes keep failing (dynamic DNS), if any endpoint is a
// host name. It exits when the device does; down stops it too.
func (e *env) startWatcher(c *config, st *state) error {
	if len(HostnameEndpoints(c.File)) == 0 {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("start endpoint watcher: %w", err)
	}
	secs := strconv.Itoa(int(e.reresolveInterval() / time.Second))
	cmd := exec.Command(exe, "up", ReresolveArg, c.Interface, c.Path, secs)
	cmd.Args[0] = "warren" // whatever the binary's file is called
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start endpoint watcher: %w", err)
	}
	st.Watcher = cmd.Process.Pid
	st.WatcherStart, _ = procStart(st.Watcher)
	cmd.Process.Release()
	return nil
}

// isWatcher reports whether pid is the endpoint watcher of iface.
func isWatcher(pid int, iface string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(string(cmdline), "\x00")
	return len(args) >= 4 && args[1] == "up" && args[2] == ReresolveArg && args[3] == iface
}

// stopWatcher ends the watcher recorded in st: the process of that PID
// only while it has the recorded start time and the watcher's command line.
func stopWatcher(iface string, st *state) {
	ours := func() bool {
		if st.WatcherStart != 0 {
			if got, ok := procStart(st.Watcher); !ok || got != st.WatcherStart {
				return false
			}
		}
		return isWatcher(st.Watcher, iface)
	}
	if st.Watcher > 0 && ours() {
		syscall.Kill(st.Watcher, syscall.SIGTERM)
		for i := 0; i < 100 && ours(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	st.Watcher, st.WatcherStart = 0, 0
}

// watch is the watcher's loop.
func (e *env) watch(iface, path string, interval time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("endpoint watcher: %w", err)
	}
	f, err := conf.Parse(path, data, conf.Options{Quick: true})
	clear(data)
	if err != nil {
		return fmt.Errorf("endpoint watcher: %w", err)
	}
	endpoints := HostnameEndpoints(f)
	r := &conf.Resolver{}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		dev, err := getDevice(iface)
		if err != nil {
			return nil // the device is gone
		}
		if ups := ReresolveUpdates(ctx, dev, endpoints, time.Now(), r.Resolve); len(ups) > 0 {
			if err := setDevice(iface, &wgtypes.Config{Peers: ups}); err != nil {
				return nil
			}
		}
	}
}
