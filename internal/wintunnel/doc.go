// Package wintunnel owns one Windows tunnel's data plane from up to down:
// the Wintun adapter (internal/tun), the UDP bind pinned to the physical
// default interface when the tunnel takes the default route
// (internal/bind), the engine (internal/device) configured from the
// wg-quick file (internal/conf), and the host network plan — addresses,
// routes, DNS, MTU, kill switch — applied and undone (internal/winnet).
// The tunnel service (internal/winsvc) calls Up and Tunnel.Close; it
// serves UAPI on the returned Device itself.
//
// Everything here is Windows-only; on other platforms the package is
// empty.
package wintunnel
