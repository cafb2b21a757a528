// Package quick implements the wg-quick(8) command set: `warren up`,
// `down`, `save` and `strip` (also reached through a link named wg-quick).
// It owns bringing a tunnel up from a wg0.conf file and tearing it down
// again: starting the userspace device, configuring it over UAPI, the
// interface's addresses, MTU, routes, the policy routing of a full tunnel
// (fwmark, table 51820, suppress_prefixlength, src_valid_mark and the
// firewall rules that keep the tunnel's own packets off the tunnel), DNS,
// hooks, and writing the running configuration back (SaveConfig, save).
//
// What is computed from the file alone — the Plan of addresses, routes,
// tables and hooks, the automatic MTU, the firewall scripts — is pure code,
// tested on every platform. Applying it is Linux only (netlink, in files
// named _linux.go); elsewhere up, down and save say so.
//
// Endpoints given as host names are looked up again while their peer's
// handshakes keep failing, by a small watcher process up leaves behind
// (see ReresolveArg), so a server with a dynamic address is found again.
//
// State: up records what it set up in /run/warren/quick/IFACE.json, so
// that down — or the rollback of a failed up — undoes exactly that, even
// after the device died. A tunnel brought up by wg-quick itself is taken
// down from what the device reports, as wg-quick does.
//
// quick imports internal/conf (the file format), internal/uapi,
// internal/wgtypes and internal/noise (to configure the device) and never
// the engine: the device runs in its own process, started as
// `warren daemon IFACE` would be.
package quick
