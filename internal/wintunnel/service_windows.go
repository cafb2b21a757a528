//go:build windows

package wintunnel

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/winsvc"
)

// NewTunnelFunc returns the constructor the tunnel service takes in
// winsvc.Options.NewTunnel: each tunnel's data plane is a ServiceTunnel.
func NewTunnelFunc(opts Options) winsvc.NewTunnelFunc {
	return func(name string) (winsvc.Tunnel, error) {
		return NewServiceTunnel(name, opts), nil
	}
}

// ServiceTunnel is a tunnel as the Windows service runs it
// (winsvc.Tunnel): the data plane of Up, UAPI served on the tunnel's named
// pipe (uapi.PipeDir) so that `warren show` and wg.exe find it, and the
// configuration's PreUp/PostUp/PreDown/PostDown commands, which the
// service has already checked against the administrator's policy.
type ServiceTunnel struct {
	name   string
	opts   Options
	cfg    *conf.File
	tunnel *Tunnel
	died   <-chan error
	pipe   net.Listener
	served chan struct{}
}

var _ winsvc.Tunnel = (*ServiceTunnel)(nil)

// NewServiceTunnel returns the service's data plane for tunnel name, down.
func NewServiceTunnel(name string, opts Options) *ServiceTunnel {
	return &ServiceTunnel{name: name, opts: opts}
}

// Up runs PreUp, brings the tunnel up, serves UAPI on its pipe and runs
// PostUp. On error it undoes what it did.
func (s *ServiceTunnel) Up(cfg *conf.File) (err error) {
	if s.tunnel != nil {
		return fmt.Errorf("tunnel %s: already up", s.name)
	}
	s.cfg = cfg
	if err := s.hooks("PreUp", cfg.Interface.PreUp); err != nil {
		return err
	}
	opts := s.opts
	opts.hooksChecked = true
	opts.ServiceName, opts.OwnerSID = winsvc.ServiceName(s.name), ""
	t, err := Up(context.Background(), s.name, cfg, opts)
	if err != nil {
		return err
	}
	s.tunnel, s.died = t, t.Died()
	defer func() {
		if err != nil {
			err = errors.Join(err, s.down())
		}
	}()
	l, err := uapi.Listen(uapi.PipeDir, s.name)
	if err != nil {
		return fmt.Errorf("tunnel %s: serve UAPI: %w", s.name, err)
	}
	s.pipe, s.served = l, make(chan struct{})
	logf := func(string, ...any) {}
	if s.opts.Logger != nil {
		logf = s.opts.Logger.Verbosef
	}
	go func() {
		defer close(s.served)
		uapi.Serve(l, t.Device(), logf)
	}()
	return s.hooks("PostUp", cfg.Interface.PostUp)
}

// Died delivers, once, why the tunnel stopped working on its own after
// Up: the adapter disappeared or its ring failed, the engine closed, or
// configuring a late address family failed (winsvc.Tunnel).
func (s *ServiceTunnel) Died() <-chan error { return s.died }

// Down runs PreDown, stops serving UAPI, takes the tunnel down and runs
// PostDown. Every failure is reported; the teardown goes on regardless.
func (s *ServiceTunnel) Down() error {
	if s.tunnel == nil {
		return nil
	}
	errPre := s.hooks("PreDown", s.cfg.Interface.PreDown)
	errDown := s.down()
	errPost := s.hooks("PostDown", s.cfg.Interface.PostDown)
	return errors.Join(errPre, errDown, errPost)
}

func (s *ServiceTunnel) down() error {
	var errs []error
	if s.pipe != nil {
		errs = append(errs, s.pipe.Close())
		<-s.served
		s.pipe = nil
	}
	if s.tunnel != nil {
		errs = append(errs, s.tunnel.Close())
		s.tunnel = nil
	}
	return errors.Join(errs...)
}
