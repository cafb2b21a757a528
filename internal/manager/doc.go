// Package manager owns what `warren manager` manages, for any front end:
// the tunnels (configuration files and the WireGuard interfaces UAPI
// reaches), importing, editing and deleting them with conf's validation,
// activating and deactivating them through the same code as `warren up`
// and `warren down`, the peers' names, the administrator's account and API
// tokens, the tunnels' logs, the clients it adds to tunnels that listen
// (keys, addresses, expiry, disabled clients kept out of the file:
// clients.go, expiry.go), and one Sampler that reads every device at a
// fixed period and hands the Snapshot to its subscribers (the web UI's
// live view, the traffic history, the metrics).
//
// It knows nothing of HTTP: internal/webui serves it. Everything it asks
// of the operating system goes through two small interfaces, System
// (devices, activation, logs) and Store (configuration files), so that
// the logic runs against fakes in tests (see managertest). On Linux they
// are wg-quick's files and `warren up`/`warren down` (LinuxSystem,
// DirStore); on Windows the tunnel services and their DPAPI store, driven
// through internal/winsvc as `warren service` drives them (ServiceSystem,
// SealedStore, whose logic is platform-neutral and tested everywhere).
//
// The engine, the wg commands and the daemon never import it.
package manager
