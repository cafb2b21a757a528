// Package uapi implements WireGuard's cross-platform userspace configuration
// protocol (https://www.wireguard.com/xplatform/#configuration-protocol):
// the text codec for "get=1" and "set=1" requests as a thin layer over the
// typed configuration in internal/wgtypes, a server that answers requests on
// a net.Listener on behalf of a Handler, a client (Get, Set), and the unix
// socket conventions of /var/run/wireguard (Listen, Dial, Interfaces).
//
// The wire format, in brief:
//
//	get=1\n\n                  ->  key=value\n ... errno=0\n\n
//	set=1\n key=value\n ... \n ->  errno=N\n\n
//
// Keys are hex, numbers decimal. An errno is written as the negated host
// errno (errno=-22 for EINVAL), as wireguard-go does and as wg(8) expects:
// wg negates what it reads and hands it to strerror.
//
// The package owns nothing but the protocol. It imports internal/wgtypes and
// internal/noise (key types) and never the engine: a device plugs in by
// implementing Handler.
//
// # Limits
//
// A request is parsed completely before anything is applied, and parsing is
// bounded so a hostile client cannot exhaust memory: see MaxLineLength,
// MaxLines, DefaultMaxPeers (or the Handler's own limit, PeerLimiter) and
// MaxAllowedIPs.
package uapi
