package daemon

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/ringlog"
	"github.com/warren-vpn/warren/internal/tun"
	"github.com/warren-vpn/warren/internal/uapi"
)

// DefaultMTU is the interface MTU a new device gets, as wireguard-go's.
const DefaultMTU = 1420

// fileHolder is implemented by TUN devices and listeners backed by a file
// descriptor that can be handed to a child process.
type fileHolder interface{ File() *os.File }

type fileErrHolder interface{ File() (*os.File, error) }

func run(prog string, opts options, stdout, stderr io.Writer) int {
	level := logLevel(os.Getenv(envLogLevel))
	// WARREN_INLINE_BATCH=N: batches of up to N packets run to completion
	// on their producer (-1: never; unset: the device's default).
	inline := 0
	if v := os.Getenv("WARREN_INLINE_BATCH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fmt.Fprintf(stderr, "%s: parse WARREN_INLINE_BATCH=%q: %v\n", prog, v, err)
			return exitSetupFailed
		}
		inline = n
	}
	// WARREN_MAX_PEERS=N: the most peers the device holds (unset: the
	// device's default, device.DefaultMaxPeers); a set that would go past
	// it is refused whole.
	maxPeers, err := parseMaxPeers(os.Getenv("WARREN_MAX_PEERS"))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return exitSetupFailed
	}
	// WARREN_KEYLOG=PATH: the keys of every handshake, for Wireshark.
	// Checked before anything is created; the background child reopens
	// it by its absolute path (it runs in /).
	keyLog, keyLogPath, err := openKeyLog()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return exitSetupFailed
	}
	if keyLog != nil {
		defer keyLog.Close()
		if !opts.foreground {
			os.Setenv(envKeyLog, keyLogPath)
		}
	}

	tdev, err := openTUN(opts.iface)
	if err == nil {
		if name, err2 := tdev.Name(); err2 == nil {
			opts.iface = name
		}
	}
	logger := device.NewLogger(level, fmt.Sprintf("(%s) ", opts.iface))
	logger.Verbosef("Starting warren version %s", Version)
	if keyLog != nil {
		warnKeyLog(logger, keyLogPath)
	}
	// Setup errors are said once, on stderr, where the caller (warren up,
	// wg-quick, a unit) reads them; the logger would say them again.
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, tunError(opts.iface, err))
		return exitSetupFailed
	}

	listener, err := openUAPI(opts.iface)
	if err != nil {
		tdev.Close()
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return exitSetupFailed
	}

	if !opts.foreground {
		err := daemonize(tdev, listener, level)
		// The child owns both now; closing our copies must not remove the socket.
		if err != nil {
			fmt.Fprintf(stderr, "%s: daemonize: %v\n", prog, err)
			listener.Close()
			tdev.Close()
			return exitSetupFailed
		}
		return exitOK
	}

	if path := os.Getenv(envLogFile); path != "" {
		// The log is an aid: a device that cannot write it still runs.
		if rl, err := ringlog.Open(path, ringlog.Options{}); err != nil {
			logger.Errorf("Failed to open log file: %v", err)
		} else {
			defer rl.Close()
			logger = withRingLog(logger, rl, level, os.Getenv(envLogLevel) != "")
			logger.Verbosef("Starting warren version %s", Version)
			if keyLog != nil {
				warnKeyLog(logger, keyLogPath)
			}
		}
	}

	// WARREN_UDP_GSO=0 and WARREN_UDP_GRO=0 turn off the UDP offloads.
	bnd := bind.NewStdWithOptions(bind.StdOptions{
		NoGSO: os.Getenv("WARREN_UDP_GSO") == "0",
		NoGRO: os.Getenv("WARREN_UDP_GRO") == "0",
		// WARREN_UDP_AQM=1: CoDel on the receive socket's queue (off by
		// default: it did not shorten the queue in bench.sh's runs).
		QueueControl: os.Getenv("WARREN_UDP_AQM") == "1",
	})
	dopts := device.Options{Logger: logger, InlineBatch: inline, MaxPeers: maxPeers}
	if keyLog != nil {
		dopts.KeyLog = keyLog // never a nil *os.File in the interface
	}
	dev, err := device.New(tdev, bnd, dopts)
	if err != nil {
		logger.Errorf("Failed to start device: %v", err)
		listener.Close()
		tdev.Close()
		return exitSetupFailed
	}
	logger.Verbosef("Device started")

	errs := make(chan error, 2)
	go func() { errs <- uapi.Serve(listener, dev, logger.Verbosef) }()
	go func() { errs <- watchSocket(socketPath(opts.iface), dev.Wait()) }()
	logger.Verbosef("UAPI listener started")

	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(term)

	select {
	case <-term:
	case err := <-errs:
		if err != nil {
			logger.Verbosef("Stopping: %v", err)
		}
	case <-dev.Wait():
	}
	listener.Close()
	os.Remove(socketPath(opts.iface))
	dev.Close()
	logger.Verbosef("Shutting down")
	return exitOK
}

func socketPath(iface string) string {
	return filepath.Join(uapi.DefaultSocketDir, iface+".sock")
}

// tunError explains why the TUN device iface could not be created: an
// interface of that name that is not a TUN device, or one in use, is
// ErrExists ("interface wg0 already exists"); anything else is err.
func tunError(iface string, err error) error {
	if os.Getenv(envTunFD) == "" && (errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EEXIST)) {
		if _, lerr := net.InterfaceByName(iface); lerr == nil {
			return fmt.Errorf("interface %s %w", iface, ErrExists)
		}
	}
	return err
}

// openTUN creates the interface, or adopts the one inherited through WG_TUN_FD.
func openTUN(name string) (tun.Device, error) {
	// WARREN_TUN_OFFLOAD=0 turns off virtio-net headers, TSO/USO and GRO.
	topts := tun.Options{NoOffload: os.Getenv("WARREN_TUN_OFFLOAD") == "0"}
	s := os.Getenv(envTunFD)
	if s == "" {
		return tun.CreateWithOptions(name, DefaultMTU, topts)
	}
	fd, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return nil, fmt.Errorf("parse %s=%q: %w", envTunFD, s, err)
	}
	if err := unix.SetNonblock(int(fd), true); err != nil {
		return nil, fmt.Errorf("inherited TUN fd %d: %w", fd, err)
	}
	// The parent already set the MTU; 0 keeps whatever the interface has now.
	return tun.CreateFromFileWithOptions(os.NewFile(uintptr(fd), "/dev/net/tun"), 0, topts)
}

// openUAPI listens on the interface's socket, or adopts the listening socket
// inherited through WG_UAPI_FD.
func openUAPI(iface string) (net.Listener, error) {
	s := os.Getenv(envUAPIFD)
	if s == "" {
		return uapi.Listen(uapi.DefaultSocketDir, iface)
	}
	fd, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return nil, fmt.Errorf("parse %s=%q: %w", envUAPIFD, s, err)
	}
	f := os.NewFile(uintptr(fd), socketPath(iface))
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("inherited UAPI fd %d: %w", fd, err)
	}
	if ul, ok := l.(*net.UnixListener); ok {
		// The socket file is removed explicitly at shutdown.
		ul.SetUnlinkOnClose(false)
	}
	return l, nil
}

// daemonize re-executes this binary in the background with the TUN device and
// the UAPI socket as fds 3 and 4, as wireguard-go does.
func daemonize(tdev tun.Device, l net.Listener, level string) error {
	th, ok := tdev.(fileHolder)
	if !ok {
		return errors.New("TUN device cannot be handed to a child process")
	}
	var uf *os.File
	switch h := l.(type) {
	case fileErrHolder:
		f, err := h.File()
		if err != nil {
			return fmt.Errorf("UAPI socket fd: %w", err)
		}
		uf = f
	default:
		return errors.New("UAPI socket cannot be handed to a child process")
	}
	defer uf.Close()

	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devNull.Close()
	files := []*os.File{devNull, devNull, devNull, th.File(), uf}
	if os.Getenv(envLogLevel) != "" && level != "silent" {
		files[1], files[2] = os.Stdout, os.Stderr
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	env := append(os.Environ(), envTunFD+"=3", envUAPIFD+"=4", envForeground+"=1")
	p, err := os.StartProcess(exe, os.Args, &os.ProcAttr{
		Dir:   "/",
		Env:   env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", exe, err)
	}
	// The child serves the socket now; our copy must never unlink it.
	if u, ok := l.(interface{ SetUnlinkOnClose(bool) }); ok {
		u.SetUnlinkOnClose(false)
	}
	return p.Release()
}

// watchSocket returns when the socket file at path disappears or is replaced
// (wg-quick and admins stop a userspace interface by removing it), or when
// done is closed.
func watchSocket(path string, done <-chan struct{}) error {
	orig, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("watch %s: %w", path, err)
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-t.C:
		}
		st, err := os.Stat(path)
		if err != nil || !os.SameFile(orig, st) {
			return fmt.Errorf("UAPI socket %s was removed", path)
		}
	}
}
