//go:build windows

package winsvc

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/ringlog"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
)

func runService(cmd Command, opts Options) error {
	h := &tunnelService{tunnel: cmd.Tunnel, allowScripts: cmd.AllowScripts, opts: opts}
	// svc.Run rather than asking svc.IsWindowsService first: that guesses
	// from the session and the parent process, which wine gets wrong.
	if err := svc.Run(ServiceName(cmd.Tunnel), h); err != nil {
		if errors.Is(err, windows.ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
			return fmt.Errorf("service run: only the service manager starts this; use `warren service install PATH.conf`")
		}
		return fmt.Errorf("service run: %w", err)
	}
	return h.err
}

// tunnelService is the service's run loop.
type tunnelService struct {
	tunnel       string
	allowScripts bool
	opts         Options
	err          error // why it stopped, if it failed
	// log is the tunnel's ring log (`warren log NAME`), nil if it could
	// not be opened.
	log *ringlog.Log
}

// logf writes the service's own messages to the tunnel's ring log; errors
// (and everything but details, when the ring log is missing) also go to
// the event log, where people look when a service fails to start (see
// logRoute).
func (s *tunnelService) logf(kind string, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	ring, event := logRoute(kind, s.log != nil)
	if ring {
		tag := LogTagService
		if kind == "error" {
			tag = LogTagError
		}
		_ = s.log.Write(tag, msg)
	}
	if !event {
		return
	}
	l, err := eventlog.Open(ServiceName(s.tunnel))
	if err != nil {
		return
	}
	defer l.Close()
	switch kind {
	case "error":
		l.Error(1, msg)
	default:
		l.Info(1, msg)
	}
}

// up loads, checks and brings up the tunnel.
func (s *tunnelService) up() (Tunnel, error) {
	if s.opts.NewTunnel == nil {
		return nil, errors.New("this warren binary has no Windows data plane linked in")
	}
	st, err := openDefaultStore()
	if err != nil {
		return nil, err
	}
	data, err := st.Load(s.tunnel)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	f, err := ParseConfig(s.tunnel, data)
	if err != nil {
		// Only the position: a value in the message could be a key.
		var pe *conf.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("stored configuration does not parse at line %d", pe.Line)
		}
		return nil, errors.New("stored configuration does not parse")
	}
	if err := CheckHooks(s.tunnel, f, s.allowScripts || scriptsAllowedMachineWide()); err != nil {
		return nil, err
	}
	t, err := s.opts.NewTunnel(s.tunnel)
	if err != nil {
		return nil, err
	}
	if err := t.Up(f); err != nil {
		return nil, fmt.Errorf("bring up: %w", err)
	}
	return t, nil
}

// Execute implements svc.Handler: serviceLoop's decisions in the service
// manager's terms. A non-zero service-specific exit code (ExitUpFailed,
// ExitTunnelDied, ExitStuck) is what recovery actions act on; a requested
// stop exits 0, its teardown's errors logged.
func (s *tunnelService) Execute(_ []string, requests <-chan svc.ChangeRequest, changes chan<- svc.Status) (bool, uint32) {
	changes <- svc.Status{State: svc.StartPending}
	if lg, err := OpenTunnelLog(s.tunnel); err != nil {
		s.logf("error", "tunnel %s: %v (logging to the event log only)", s.tunnel, err)
	} else {
		s.log = lg
		defer lg.Close()
	}
	l := &serviceLoop[svc.ChangeRequest]{
		name:     s.tunnel,
		up:       s.up,
		requests: requests,
		kind: func(r svc.ChangeRequest) request {
			switch r.Cmd {
			case svc.Interrogate:
				return requestInterrogate
			case svc.Stop, svc.Shutdown:
				return requestStop
			}
			return requestOther
		},
		answer: func(r svc.ChangeRequest) { changes <- r.CurrentStatus },
		report: func(st loopStatus) {
			status := svc.Status{CheckPoint: st.CheckPoint, WaitHint: uint32(st.WaitHint / time.Millisecond)}
			switch st.State {
			case stateStarting:
				status.State = svc.StartPending
			case stateRunning:
				status.State = svc.Running
				status.Accepts = svc.AcceptStop | svc.AcceptShutdown
			case stateStopping:
				status.State = svc.StopPending
			case stateStopped:
				status.State = svc.Stopped
			}
			changes <- status
			if st.State == stateStopped {
				// The process ends next: give the service manager's
				// handler time to record the status.
				time.Sleep(time.Second)
			}
		},
		logf:     s.logf,
		watchdog: StopWatchdog,
		exit:     os.Exit,
	}
	code, err := l.run()
	if err != nil {
		s.err = fmt.Errorf("tunnel %s: %w", s.tunnel, err)
		s.logf("error", "%v", s.err)
	}
	return code != 0, code
}
