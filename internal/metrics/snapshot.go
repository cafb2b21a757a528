package metrics

import (
	"context"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

// Device is one interface as a scrape sees it.
type Device struct {
	// Name is the interface's name, the interface label.
	Name  string
	Peers []Peer
}

// Peer is one peer's state with the name the manager knows it by.
type Peer struct {
	wgtypes.Peer
	// Name becomes the friendly_name label; "" leaves the label out, as
	// the exporter does for a peer without a name.
	Name string
}

// Source gives the devices at the moment of a scrape. Snapshot should
// return within the context's deadline; an error fails the scrape.
type Source interface {
	Snapshot(ctx context.Context) ([]Device, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) ([]Device, error)

// Snapshot calls f.
func (f SourceFunc) Snapshot(ctx context.Context) ([]Device, error) { return f(ctx) }
