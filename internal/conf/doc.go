// Package conf owns the WireGuard configuration file format (wg0.conf): one
// parser and one writer shared by every command that reads or writes such a
// file (wg setconf/addconf/syncconf, wg-quick up/strip/save, the Windows
// service and importers).
//
// Parse reads both dialects: the keys wg(8) accepts and, with Options.Quick,
// the extra [Interface] keys of wg-quick(8). The value parsers (ParsePort,
// ParseFwMark, ParseKeepalive, ParseAllowedIPs, SplitEndpoint, ReadKeyFile)
// are exported so that the wg command line shares one grammar with the file,
// and their error texts follow wg's wording so scripts see familiar messages.
// Error messages never contain key material.
//
// A peer's name is a comment directly above its [Peer] header
// ("# Name = alice"): Parse reads it into Peer.Name, Write and
// SetPeerName put it back, and wg, wg-quick and WireGuardConfig ignore it.
//
// Endpoints are kept as written (host names unresolved); a Resolver turns
// them into addresses when the File becomes a *wgtypes.Config.
//
// conf imports only internal/noise and internal/wgtypes of this module.
package conf
