package manager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/warren-vpn/warren/internal/quick"
	"github.com/warren-vpn/warren/internal/ringlog"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// uapiTimeout bounds one UAPI exchange with a device.
const uapiTimeout = 5 * time.Second

// LinuxSystem is the Linux System: devices through UAPI sockets in
// /var/run/wireguard, tunnels up and down by running `warren up` and
// `warren down` on the store's files, logs from quick.DaemonLogPath.
//
// Running the binary, rather than calling quick in this process, is
// deliberate: up installs process-wide signal handlers for its rollback,
// prints to its own stdout, and forks the device; as a child it is
// exactly what the command line and warren@.service run, its output is
// captured whole for the log, and a hang or crash in it cannot take the
// manager down.
type LinuxSystem struct {
	// Warren is the warren binary to run (os.Executable by default).
	Warren string
	// SocketDir is where UAPI sockets are (uapi.DefaultSocketDir).
	SocketDir string
	// Store holds the configurations up and down read.
	Store *DirStore
}

// Platform returns this platform's System and Store for configurations
// in configDir. allowHooks changes nothing here: `warren up` runs the
// hooks of the files root put in configDir (the manager itself writes
// none unless Options.AllowHooks).
func Platform(configDir string, allowHooks bool) (System, Store, error) {
	store, err := NewDirStore(configDir)
	if err != nil {
		return nil, nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("find the warren binary: %w", err)
	}
	return &LinuxSystem{Warren: exe, SocketDir: uapi.DefaultSocketDir, Store: store}, store, nil
}

// DefaultConfigDir is where wg-quick keeps its configurations.
func DefaultConfigDir() string { return "/etc/wireguard" }

// DefaultStateDir is the manager's own state.
func DefaultStateDir() string { return "/var/lib/warren/manager" }

// Interfaces implements System.
func (s *LinuxSystem) Interfaces() ([]string, error) { return uapi.Interfaces(s.SocketDir) }

// Device implements System.
func (s *LinuxSystem) Device(name string) (*wgtypes.Device, error) {
	conn, err := uapi.Dial(s.SocketDir, name)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(uapiTimeout))
	dev, err := uapi.Get(conn)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return dev, nil
}

// Configure implements System.
func (s *LinuxSystem) Configure(name string, cfg *wgtypes.Config) error {
	conn, err := uapi.Dial(s.SocketDir, name)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(uapiTimeout))
	if err := uapi.Set(conn, cfg); err != nil {
		return fmt.Errorf("configure %s: %w", name, err)
	}
	return nil
}

// Up implements System: `warren up CONFIG_DIR/NAME.conf`.
func (s *LinuxSystem) Up(ctx context.Context, name string) (string, error) {
	return s.run(ctx, "up", name)
}

// Down implements System: `warren down CONFIG_DIR/NAME.conf`.
func (s *LinuxSystem) Down(ctx context.Context, name string) (string, error) {
	return s.run(ctx, "down", name)
}

func (s *LinuxSystem) run(ctx context.Context, cmd, name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	c := exec.CommandContext(ctx, s.Warren, cmd, s.Store.Path(name))
	c.Args[0] = "warren" // the binary picks its command by this name
	// Interrupted, up rolls back on SIGTERM as it does for systemd; only
	// one that does not finish is killed.
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 30 * time.Second
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	text := strings.TrimRight(out.String(), "\n")
	if err != nil {
		if last := lastLine(text); last != "" {
			return text, fmt.Errorf("warren %s %s: %s (%w)", cmd, name, last, err)
		}
		return text, fmt.Errorf("warren %s %s: %w", cmd, name, err)
	}
	return text, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// OpenLog implements System with the ring log up's device writes.
func (s *LinuxSystem) OpenLog(name string) (*ringlog.Reader, error) {
	r, err := ringlog.OpenReader(quick.DaemonLogPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("tunnel %s: %w", name, ErrNoLog)
	}
	return r, err
}
