package conf

import (
	"fmt"
	"net/netip"

	"github.com/warren-vpn/warren/internal/noise"
)

// File is one parsed configuration file. Pointer fields are nil when the
// file does not set them.
type File struct {
	Interface Interface
	Peers     []Peer
}

// Interface is the [Interface] section (all of them merged, as wg does).
type Interface struct {
	PrivateKey *noise.PrivateKey
	ListenPort *uint16
	// FwMark 0 means off (written "off").
	FwMark *uint32

	// The wg-quick keys, only ever set when parsed with Options.Quick.

	// Addresses keeps each address with its prefix length as written
	// (an address without one gets the full length).
	Addresses []netip.Prefix
	// DNS holds the resolvers, DNSSearch the search domains, of the DNS key.
	DNS       []netip.Addr
	DNSSearch []string
	// MTU 0 means unset (wg-quick picks one).
	MTU int
	// Table is "" when unset, otherwise as written ("off", "auto", a number
	// or a name).
	Table                            string
	PreUp, PostUp, PreDown, PostDown []string
	SaveConfig                       bool
}

// Peer is one [Peer] section.
type Peer struct {
	// Name is the peer's name from a "# Name = ..." comment directly above
	// its [Peer] header, "" if none; wg and wg-quick ignore it as a
	// comment. Write puts it back there.
	Name         string
	PublicKey    noise.PublicKey
	PresharedKey *noise.PresharedKey
	// AllowedIPs accumulates over every AllowedIPs line of the section.
	AllowedIPs []netip.Prefix
	// Endpoint is "" when unset, else "host:port" or "[v6]:port" unresolved.
	Endpoint string
	// PersistentKeepalive 0 means off (written "off").
	PersistentKeepalive *uint16
}

// Options selects the dialect and receives warnings.
type Options struct {
	// Quick accepts wg-quick's [Interface] keys (Address, DNS, MTU, Table,
	// PreUp, PostUp, PreDown, PostDown, SaveConfig); without it they are
	// rejected as wg setconf rejects them.
	Quick bool
	// Warn, if not nil, receives non-fatal remarks in wg's words (an
	// AllowedIP with a nonzero host part), already prefixed by file:line.
	Warn func(msg string)
}

// ParseError locates a problem in a file. Err wraps one of the package's
// sentinel errors (ErrUnrecognized, ErrInvalidValue, ...).
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *ParseError) Unwrap() error { return e.Err }
