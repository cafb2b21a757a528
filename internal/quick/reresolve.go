package quick

import (
	"context"
	"net/netip"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// ReresolveArg, after "up", starts the endpoint watcher that up leaves
// running when some peer's endpoint is a host name:
// `warren up --reresolve IFACE CONFIG_FILE SECONDS`. It is not meant to be
// typed by hand.
const ReresolveArg = "--reresolve"

// DefaultReresolveInterval is how often the watcher looks at the peers, as
// the timer of wireguard-tools' reresolve-dns contrib script.
const DefaultReresolveInterval = 30 * time.Second

// StaleHandshake is how old a peer's latest handshake may be before its
// endpoint's name is looked up again: a handshake is due every two
// minutes (RekeyAfterTime) and retried for Rekey-Timeout; past 135 s it
// has been failing.
const StaleHandshake = 135 * time.Second

// HostnameEndpoints maps each peer whose endpoint is a host name (not an
// IP literal) to that endpoint as written.
func HostnameEndpoints(f *conf.File) map[noise.PublicKey]string {
	m := map[noise.PublicKey]string{}
	for _, p := range f.Peers {
		if p.Endpoint == "" {
			continue
		}
		host, _, err := conf.SplitEndpoint(p.Endpoint)
		if err != nil {
			continue
		}
		if _, err := netip.ParseAddr(host); err == nil {
			continue
		}
		m[p.PublicKey] = p.Endpoint
	}
	return m
}

// ReresolveUpdates is one round of the watcher: for every peer of dev
// with a host-name endpoint whose latest handshake is older than
// StaleHandshake (or never happened), it resolves the name again and
// returns an update for each peer whose address changed. Failed lookups
// are skipped: the next round tries again.
func ReresolveUpdates(ctx context.Context, dev *wgtypes.Device, endpoints map[noise.PublicKey]string, now time.Time,
	resolve func(ctx context.Context, endpoint string) (netip.AddrPort, error)) []wgtypes.PeerConfig {
	var updates []wgtypes.PeerConfig
	for _, p := range dev.Peers {
		ep, ok := endpoints[p.PublicKey]
		if !ok {
			continue
		}
		if !p.LastHandshakeTime.IsZero() && now.Sub(p.LastHandshakeTime) <= StaleHandshake {
			continue
		}
		ap, err := resolve(ctx, ep)
		if err != nil || ap == p.Endpoint {
			continue
		}
		updates = append(updates, wgtypes.PeerConfig{PublicKey: p.PublicKey, UpdateOnly: true, Endpoint: &ap})
	}
	return updates
}
