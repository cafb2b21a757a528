// Package wintunnel owns one Windows tunnel's data plane from up to down:
// the Wintun adapter (internal/tun), the UDP bind pinned to the physical
// default interface when the tunnel takes the default route
// (internal/bind), the engine (internal/device) configured from the
// wg-quick file (internal/conf), and the host network plan — addresses,
// routes, DNS, MTU, kill switch — applied and undone (internal/winnet).
// The tunnel service (internal/winsvc) drives it through winsvc.Tunnel:
// pass NewTunnelFunc(opts) as winsvc.Options.NewTunnel. ServiceTunnel adds
// the UAPI named pipe and the configuration's hooks around Up and Close.
//
// Everything here is Windows-only; on other platforms the package is
// empty.
package wintunnel
