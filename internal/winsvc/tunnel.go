package winsvc

import "github.com/warren-vpn/warren/internal/conf"

// Tunnel is the data plane of one tunnel, as the service drives it. The
// Windows data plane (Wintun adapter, UDP bind, addresses, routes, DNS,
// firewall) implements it; winsvc only calls it.
type Tunnel interface {
	// Up brings the tunnel up with cfg, a parsed configuration (wg-quick
	// keys included): the adapter, the device with its UAPI pipe
	// (uapi.Listen(uapi.PipeDir, name) and uapi.Serve), addresses, routes,
	// DNS, MTU and, for a /0 in AllowedIPs, the kill switch; and it runs
	// PreUp and PostUp. Hooks reach Up only when the administrator allowed
	// them (CheckHooks has passed). On error, Up undoes what it did.
	Up(cfg *conf.File) error
	// Down runs PreDown and PostDown and removes everything Up added. It
	// is called once, after Up succeeded, when the service stops, the
	// machine shuts down, or the tunnel died (Died).
	Down() error
	// Died delivers, once, why the tunnel stopped working on its own
	// after Up succeeded: its adapter disappeared, the engine closed, the
	// Wintun ring failed, or configuring the network failed. The service
	// then takes it down and stops with ExitTunnelDied, so that recovery
	// actions restart it. Down never makes it deliver. A nil channel
	// means the tunnel cannot die on its own.
	Died() <-chan error
}

// NewTunnelFunc makes the Tunnel for the tunnel of a name.
type NewTunnelFunc func(name string) (Tunnel, error)

// Options carries what the caller (cmd/warren) links in.
type Options struct {
	// NewTunnel makes the data plane of a tunnel service; nil makes
	// `warren service run` fail with a message saying so.
	NewTunnel NewTunnelFunc
}

// ParseConfig parses a stored or imported configuration in wg-quick's
// dialect (addresses, DNS, MTU and hooks included).
func ParseConfig(name string, data []byte) (*conf.File, error) {
	return conf.Parse(name, data, conf.Options{Quick: true})
}
