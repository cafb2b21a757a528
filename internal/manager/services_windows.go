package manager

import (
	"golang.org/x/sys/windows/svc"

	"github.com/warren-vpn/warren/internal/winsvc"
)

// windowsServices are the tunnel services through internal/winsvc.
type windowsServices struct{}

var _ Services = windowsServices{}

func serviceStatus(st winsvc.TunnelServiceStatus) ServiceStatus {
	if !st.Installed {
		return ServiceStatus{State: ServiceNotInstalled}
	}
	out := ServiceStatus{AutoStart: st.AutoStart, AllowScripts: st.AllowScripts, ExitCode: st.Win32ExitCode}
	if st.ServiceExitCode != 0 {
		out.ExitCode = st.ServiceExitCode
	}
	switch st.State {
	case svc.Stopped:
		out.State = ServiceStopped
	case svc.StartPending:
		out.State = ServiceStarting
	case svc.Running:
		out.State = ServiceRunning
	case svc.StopPending:
		out.State = ServiceStopping
	default:
		out.State = ServiceOther
	}
	return out
}

func (windowsServices) Query(name string) (ServiceStatus, error) {
	st, err := winsvc.QueryTunnelService(name)
	if err != nil {
		return ServiceStatus{}, err
	}
	return serviceStatus(st), nil
}

func (windowsServices) List() (map[string]ServiceStatus, error) {
	all, err := winsvc.ListTunnelServices()
	if err != nil {
		return nil, err
	}
	out := make(map[string]ServiceStatus, len(all))
	for name, st := range all {
		out[name] = serviceStatus(st)
	}
	return out, nil
}

func (windowsServices) Install(name string, allowScripts bool) ([]string, error) {
	return winsvc.InstallTunnelService(name, allowScripts)
}

func (windowsServices) SetAutoStart(name string, auto bool) error {
	return winsvc.SetTunnelServiceAutoStart(name, auto)
}

func (windowsServices) Start(name string) error  { return winsvc.StartTunnelService(name) }
func (windowsServices) Stop(name string) error   { return winsvc.StopTunnelService(name) }
func (windowsServices) Remove(name string) error { return winsvc.RemoveTunnelService(name) }

func (windowsServices) ServiceName(tunnel string) string { return winsvc.ServiceName(tunnel) }
