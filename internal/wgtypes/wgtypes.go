// Package wgtypes holds the typed configuration and state of a WireGuard
// device: what a UAPI "set" asks for (Config, PeerConfig) and what a "get"
// reports (Device, Peer). The engine consumes and produces these; the uapi
// package is a thin text codec over them; the wg command set uses them
// without linking the engine. It imports only internal/noise for key types.
package wgtypes

import (
	"errors"
	"net/netip"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
)

// Config is one atomic change to a device, the typed form of a UAPI set.
// A nil pointer field means "leave unchanged".
type Config struct {
	// PrivateKey sets the device's private key; a zero key removes it.
	PrivateKey *noise.PrivateKey
	// ListenPort sets the UDP port; 0 picks a random one.
	ListenPort *uint16
	// FwMark sets the mark on outgoing packets; 0 turns it off.
	FwMark *uint32
	// ReplacePeers removes every peer not listed in Peers before applying them.
	ReplacePeers bool
	Peers        []PeerConfig
}

// PeerConfig changes or creates one peer, identified by its public key.
type PeerConfig struct {
	PublicKey noise.PublicKey
	// Remove deletes the peer; other fields are ignored.
	Remove bool
	// UpdateOnly applies the change only if the peer already exists.
	UpdateOnly bool
	// PresharedKey sets the peer's PSK; a zero key removes it.
	PresharedKey *noise.PresharedKey
	// Endpoint sets the peer's address.
	Endpoint *netip.AddrPort
	// PersistentKeepaliveInterval in seconds; 0 turns it off.
	PersistentKeepaliveInterval *uint16
	// ReplaceAllowedIPs clears the peer's allowed IPs before adding AllowedIPs.
	ReplaceAllowedIPs bool
	// AllowedIPs are added to the peer (and taken from any other peer that had them).
	AllowedIPs []netip.Prefix
	// RemoveAllowedIPs are taken from the peer if it holds them (a prefix
	// another peer holds is left alone). They are applied after
	// ReplaceAllowedIPs and before AllowedIPs. UAPI: allowed_ip=-PREFIX.
	RemoveAllowedIPs []netip.Prefix
	// ProtocolVersion, if set, must be 1.
	ProtocolVersion *int
}

// Device is a snapshot of a device's configuration and statistics.
type Device struct {
	// PrivateKey is zero when none is set. PublicKey is derived from it.
	PrivateKey noise.PrivateKey
	PublicKey  noise.PublicKey
	ListenPort uint16
	FwMark     uint32
	Peers      []Peer
}

// Peer is a snapshot of one peer.
type Peer struct {
	PublicKey    noise.PublicKey
	PresharedKey noise.PresharedKey
	// Endpoint is the zero AddrPort when unknown.
	Endpoint                    netip.AddrPort
	PersistentKeepaliveInterval uint16
	// LastHandshakeTime is the zero Time when there has been none.
	LastHandshakeTime time.Time
	RxBytes, TxBytes  uint64
	AllowedIPs        []netip.Prefix
	ProtocolVersion   int
}

// Errors an engine returns from applying a Config, so that control
// protocols can map them to the errno a wg user expects. Wrap them with
// context (fmt.Errorf("...: %w", ErrInvalidConfig)).
var (
	// ErrInvalidConfig: a value is out of range or contradictory (EINVAL).
	ErrInvalidConfig = errors.New("invalid configuration")
	// ErrPortInUse: the listen port cannot be bound (EADDRINUSE).
	ErrPortInUse = errors.New("listen port already in use")
)
