// Package routing implements cryptokey routing's AllowedIPs table
// (whitepaper §2): longest-prefix match for IPv4 and IPv6, mapping prefixes
// to peers. It imports nothing of this module.
package routing

import "net/netip"

// Table maps prefixes to peers of type P. The zero value is an empty table.
// It is not safe for concurrent writes; readers may call Lookup concurrently
// with each other (callers guard writes with a lock).
type Table[P comparable] struct{}

// Insert maps prefix (masked to its bits first) to peer, taking it from any
// peer that had it, as wg's semantics say.
func (t *Table[P]) Insert(prefix netip.Prefix, peer P) { panic("unimplemented") }

// Remove deletes prefix if it maps to peer.
func (t *Table[P]) Remove(prefix netip.Prefix, peer P) { panic("unimplemented") }

// RemovePeer deletes every prefix of peer, in time proportional to the
// number of prefixes the peer has.
func (t *Table[P]) RemovePeer(peer P) { panic("unimplemented") }

// Lookup returns the peer of the longest prefix containing addr.
func (t *Table[P]) Lookup(addr netip.Addr) (peer P, ok bool) { panic("unimplemented") }

// Prefixes returns peer's prefixes in the order they were inserted.
func (t *Table[P]) Prefixes(peer P) []netip.Prefix { panic("unimplemented") }

// Len returns how many prefixes the table holds.
func (t *Table[P]) Len() int { panic("unimplemented") }
