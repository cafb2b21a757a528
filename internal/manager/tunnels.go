package manager

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// Tunnel is one tunnel as the manager sees it: a configuration file, a
// running interface, or both.
type Tunnel struct {
	Name string
	// HasConfig: a configuration file backs the tunnel. Without one the
	// interface is shown read-only.
	HasConfig bool
	// ConfigErr is set when the stored configuration does not parse.
	ConfigErr *ConfigError
	// Running: UAPI reaches the interface and it answered.
	Running bool
	// ListenPort and PublicKey are the running device's, or when it is
	// down the configuration's (zero when it sets none).
	ListenPort uint16
	PublicKey  noise.PublicKey
	// Addresses are the configuration's (wg-quick's Address).
	Addresses []netip.Prefix
	// Peers are the running device's when it runs (named from the
	// configuration), else the configuration's.
	Peers []Peer
	// Service is the state of the tunnel's service where tunnels run as
	// services (Windows, see ServiceSystem); "" elsewhere.
	Service ServiceState
}

// Peer is one peer of a Tunnel.
type Peer struct {
	PublicKey noise.PublicKey
	// Name is from the configuration's "# Name =" comment, "" if none.
	Name string
	// Endpoint is the device's current endpoint when running, else the
	// configuration's as written; "" when none.
	Endpoint            string
	AllowedIPs          []netip.Prefix
	PersistentKeepalive uint16
	HasPresharedKey     bool
	// LastHandshake is zero when there has been none (or the tunnel is
	// down).
	LastHandshake    time.Time
	RxBytes, TxBytes uint64
	// InConfig: the configuration lists the peer; Running: the device has
	// it.
	InConfig, Running bool
}

// Tunnels lists every tunnel: each stored configuration and each
// interface UAPI reaches, sorted by name.
func (m *Manager) Tunnels() ([]Tunnel, error) {
	cfgs, err := m.configs()
	if err != nil {
		return nil, err
	}
	ifaces, err := m.sys.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	names := make([]string, 0, len(cfgs)+len(ifaces))
	for name := range cfgs {
		names = append(names, name)
	}
	names = append(names, ifaces...)
	slices.Sort(names)
	names = slices.Compact(names)
	out := make([]Tunnel, 0, len(names))
	for _, name := range names {
		c, hasConfig := cfgs[name]
		var dev *wgtypes.Device
		if slices.Contains(ifaces, name) {
			dev, _ = m.sys.Device(name)
		}
		out = append(out, buildTunnel(name, c, hasConfig, dev))
	}
	m.addServiceStates(out)
	return out, nil
}

// Tunnel describes one tunnel; ErrNotFound when it has neither a
// configuration nor an interface.
func (m *Manager) Tunnel(name string) (*Tunnel, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	cfgs, err := m.configs()
	if err != nil {
		return nil, err
	}
	c, hasConfig := cfgs[name]
	dev, devErr := m.sys.Device(name)
	if !hasConfig && devErr != nil {
		return nil, fmt.Errorf("tunnel %s: %w", name, ErrNotFound)
	}
	t := []Tunnel{buildTunnel(name, c, hasConfig, dev)}
	m.addServiceStates(t)
	return &t[0], nil
}

// running reports whether name's interface answers UAPI.
func (m *Manager) running(name string) bool {
	_, err := m.sys.Device(name)
	return err == nil
}

func buildTunnel(name string, c cachedConfig, hasConfig bool, dev *wgtypes.Device) Tunnel {
	t := Tunnel{Name: name, HasConfig: hasConfig}
	var f *conf.File
	if hasConfig {
		f = c.file
		var ce *ConfigError
		if errors.As(c.err, &ce) {
			t.ConfigErr = ce
		} else if c.err != nil {
			t.ConfigErr = &ConfigError{Msg: c.err.Error()}
		}
	}
	cfgPeers := map[noise.PublicKey]*conf.Peer{}
	if f != nil {
		t.Addresses = slices.Clone(f.Interface.Addresses)
		for i := range f.Peers {
			if _, dup := cfgPeers[f.Peers[i].PublicKey]; !dup {
				cfgPeers[f.Peers[i].PublicKey] = &f.Peers[i]
			}
		}
	}
	if dev != nil {
		t.Running = true
		t.ListenPort = dev.ListenPort
		t.PublicKey = dev.PublicKey
		for _, dp := range dev.Peers {
			p := Peer{
				PublicKey:           dp.PublicKey,
				AllowedIPs:          slices.Clone(dp.AllowedIPs),
				PersistentKeepalive: dp.PersistentKeepaliveInterval,
				HasPresharedKey:     !dp.PresharedKey.IsZero(),
				LastHandshake:       dp.LastHandshakeTime,
				RxBytes:             dp.RxBytes,
				TxBytes:             dp.TxBytes,
				Running:             true,
			}
			if dp.Endpoint.IsValid() {
				p.Endpoint = conf.FormatEndpoint(dp.Endpoint)
			}
			if cp := cfgPeers[dp.PublicKey]; cp != nil {
				p.Name, p.InConfig = cp.Name, true
			}
			t.Peers = append(t.Peers, p)
		}
		return t
	}
	if f != nil {
		if f.Interface.PrivateKey != nil {
			t.PublicKey = f.Interface.PrivateKey.PublicKey()
		}
		if f.Interface.ListenPort != nil {
			t.ListenPort = *f.Interface.ListenPort
		}
		for _, cp := range f.Peers {
			p := Peer{
				PublicKey:       cp.PublicKey,
				Name:            cp.Name,
				Endpoint:        cp.Endpoint,
				AllowedIPs:      slices.Clone(cp.AllowedIPs),
				HasPresharedKey: cp.PresharedKey != nil,
				InConfig:        true,
			}
			if cp.PersistentKeepalive != nil {
				p.PersistentKeepalive = *cp.PersistentKeepalive
			}
			t.Peers = append(t.Peers, p)
		}
	}
	return t
}

// Config returns the stored configuration of name as written. It holds
// the private key: show it only to the administrator.
func (m *Manager) Config(name string) ([]byte, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	data, err := m.store.Read(name)
	if errors.Is(err, ErrNotFound) && m.running(name) {
		return nil, fmt.Errorf("tunnel %s: %w", name, ErrReadOnly)
	}
	return data, err
}
