//go:build windows

package winsvc

import (
	"errors"
	"fmt"

	"github.com/warren-vpn/warren/internal/conf"
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
}

func (s *tunnelService) logf(kind string, format string, args ...any) {
	l, err := eventlog.Open(ServiceName(s.tunnel))
	if err != nil {
		return
	}
	defer l.Close()
	msg := fmt.Sprintf(format, args...)
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

// Execute implements svc.Handler.
func (s *tunnelService) Execute(_ []string, requests <-chan svc.ChangeRequest, changes chan<- svc.Status) (bool, uint32) {
	changes <- svc.Status{State: svc.StartPending}
	t, err := s.up()
	if err != nil {
		s.err = fmt.Errorf("tunnel %s: %w", s.tunnel, err)
		s.logf("error", "%v", s.err)
		changes <- svc.Status{State: svc.StopPending}
		return true, 1 // service-specific exit code
	}
	s.logf("info", "tunnel %s is up", s.tunnel)
	changes <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for r := range requests {
		switch r.Cmd {
		case svc.Interrogate:
			changes <- r.CurrentStatus
		case svc.Stop, svc.Shutdown:
			changes <- svc.Status{State: svc.StopPending}
			if err := t.Down(); err != nil {
				s.err = fmt.Errorf("tunnel %s: take down: %w", s.tunnel, err)
				s.logf("error", "%v", s.err)
				return true, 2
			}
			return false, 0
		}
	}
	return false, 0
}
