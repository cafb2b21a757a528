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
// quick imports internal/conf (the file format), internal/uapi and
// internal/wgtypes (to configure the device) and never the engine: the
// device runs in its own process, started as `warren daemon IFACE` would be.
package quick
