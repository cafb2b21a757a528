package webui

import (
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// The API's JSON shapes (API.md documents them). Keys are base64, times
// UNIX seconds (0: never), counters bytes.

type tunnelJSON struct {
	Name        string       `json:"name"`
	HasConfig   bool         `json:"hasConfig"`
	ConfigError *configError `json:"configError,omitempty"`
	Running     bool         `json:"running"`
	ListenPort  uint16       `json:"listenPort,omitempty"`
	PublicKey   string       `json:"publicKey,omitempty"`
	Addresses   []string     `json:"addresses"`
	Peers       []peerJSON   `json:"peers"`
	// Service is the tunnel's service state where tunnels are services
	// (Windows): "running", "stopped", "not installed", ...
	Service string `json:"service,omitempty"`
}

type configError struct {
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

type peerJSON struct {
	// ID tells peers apart: the public key, or for an operator an opaque
	// value (roles.go).
	ID                  string   `json:"id"`
	PublicKey           string   `json:"publicKey,omitempty"`
	Name                string   `json:"name,omitempty"`
	Endpoint            string   `json:"endpoint,omitempty"`
	AllowedIPs          []string `json:"allowedIPs"`
	PersistentKeepalive uint16   `json:"persistentKeepalive,omitempty"`
	HasPresharedKey     bool     `json:"hasPresharedKey"`
	LatestHandshake     int64    `json:"latestHandshake"`
	RxBytes             uint64   `json:"rxBytes"`
	TxBytes             uint64   `json:"txBytes"`
	InConfig            bool     `json:"inConfig"`
	Running             bool     `json:"running"`
}

type warningJSON struct {
	Tunnels  []string `json:"tunnels"`
	Kind     string   `json:"kind"`
	Prefixes []string `json:"prefixes,omitempty"`
	Message  string   `json:"message"`
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func keyText(k interface {
	IsZero() bool
	String() string
}) string {
	if k.IsZero() {
		return ""
	}
	return k.String()
}

func toTunnelJSON(t *manager.Tunnel) tunnelJSON {
	out := tunnelJSON{
		Name: t.Name, HasConfig: t.HasConfig, Running: t.Running, ListenPort: t.ListenPort,
		PublicKey: keyText(t.PublicKey), Addresses: []string{}, Peers: []peerJSON{},
		Service: string(t.Service),
	}
	if t.ConfigErr != nil {
		out.ConfigError = &configError{Line: t.ConfigErr.Line, Message: t.ConfigErr.Msg}
	}
	for _, a := range t.Addresses {
		out.Addresses = append(out.Addresses, conf.FormatPrefix(a))
	}
	for _, p := range t.Peers {
		pj := peerJSON{
			ID: p.PublicKey.String(), PublicKey: p.PublicKey.String(), Name: p.Name, Endpoint: p.Endpoint, AllowedIPs: []string{},
			PersistentKeepalive: p.PersistentKeepalive, HasPresharedKey: p.HasPresharedKey,
			LatestHandshake: unix(p.LastHandshake), RxBytes: p.RxBytes, TxBytes: p.TxBytes,
			InConfig: p.InConfig, Running: p.Running,
		}
		for _, a := range p.AllowedIPs {
			pj.AllowedIPs = append(pj.AllowedIPs, conf.FormatPrefix(a))
		}
		out.Peers = append(out.Peers, pj)
	}
	return out
}

func toWarningsJSON(ws []manager.Warning) []warningJSON {
	out := []warningJSON{}
	for _, w := range ws {
		wj := warningJSON{Tunnels: w.Tunnels, Kind: w.Kind, Message: w.Message}
		for _, p := range w.Prefixes {
			wj.Prefixes = append(wj.Prefixes, p.String())
		}
		out = append(out, wj)
	}
	return out
}

// statsJSON is one "stats" event: a Snapshot without secrets.
type statsJSON struct {
	// Time is when the devices were read, in UNIX milliseconds.
	Time       int64                     `json:"time"`
	Interfaces map[string]*interfaceJSON `json:"interfaces"`
}

type interfaceJSON struct {
	PublicKey  string          `json:"publicKey,omitempty"`
	ListenPort uint16          `json:"listenPort,omitempty"`
	Peers      []peerStatsJSON `json:"peers"`
}

type peerStatsJSON struct {
	ID              string   `json:"id"`
	PublicKey       string   `json:"publicKey,omitempty"`
	Name            string   `json:"name,omitempty"`
	Endpoint        string   `json:"endpoint,omitempty"`
	AllowedIPs      []string `json:"allowedIPs"`
	LatestHandshake int64    `json:"latestHandshake"`
	RxBytes         uint64   `json:"rxBytes"`
	TxBytes         uint64   `json:"txBytes"`
}

func toStatsJSON(s *manager.Snapshot) statsJSON {
	out := statsJSON{Time: s.Time.UnixMilli(), Interfaces: map[string]*interfaceJSON{}}
	for name, d := range s.Devices {
		out.Interfaces[name] = toInterfaceJSON(s, name, d)
	}
	return out
}

func toInterfaceJSON(s *manager.Snapshot, name string, d *wgtypes.Device) *interfaceJSON {
	if d == nil {
		return nil // found, not readable
	}
	ij := &interfaceJSON{PublicKey: keyText(d.PublicKey), ListenPort: d.ListenPort, Peers: []peerStatsJSON{}}
	for _, p := range d.Peers {
		ps := peerStatsJSON{
			ID: p.PublicKey.String(), PublicKey: p.PublicKey.String(), Name: s.PeerName(name, p.PublicKey), AllowedIPs: []string{},
			LatestHandshake: unix(p.LastHandshakeTime), RxBytes: p.RxBytes, TxBytes: p.TxBytes,
		}
		if p.Endpoint.IsValid() {
			ps.Endpoint = conf.FormatEndpoint(p.Endpoint)
		}
		for _, a := range p.AllowedIPs {
			ps.AllowedIPs = append(ps.AllowedIPs, conf.FormatPrefix(a))
		}
		ij.Peers = append(ij.Peers, ps)
	}
	return ij
}
