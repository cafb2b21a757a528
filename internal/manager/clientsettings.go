package manager

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// ClientSettings are a tunnel's defaults for the clients the manager adds
// to it (see AddClient): what each client's configuration says about
// reaching the tunnel. They are kept in the state directory
// (clients.json), beside the configuration they belong to.
type ClientSettings struct {
	// EndpointHost is the name or IP address clients reach the tunnel at.
	// Clients cannot be added while it is empty.
	EndpointHost string `json:"endpointHost"`
	// EndpointPort is the UDP port clients reach; 0 means the tunnel's
	// ListenPort.
	EndpointPort uint16 `json:"endpointPort,omitempty"`
	// DNS are the resolvers a client uses while connected (none: the
	// client keeps its own).
	DNS []netip.Addr `json:"dns,omitempty"`
	// AllowedIPs are what a client sends through the tunnel
	// (DefaultClientAllowedIPs: everything).
	AllowedIPs []netip.Prefix `json:"allowedIPs"`
	// PersistentKeepalive is the client's keepalive interval in seconds,
	// 0 for off.
	PersistentKeepalive uint16 `json:"persistentKeepalive"`
}

// DefaultClientAllowedIPs route all of a client's traffic through the
// tunnel.
var DefaultClientAllowedIPs = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}

// DefaultClientKeepalive keeps a client behind NAT reachable from the
// server (25 s, as wg(8) suggests for NAT).
const DefaultClientKeepalive = 25

// Bounds of the settings.
const (
	maxClientDNS        = 8
	maxClientAllowedIPs = 64
	maxHostLen          = 253
)

// ErrClientSettings: client settings that cannot be used (the error says
// which field and why).
var ErrClientSettings = errors.New("invalid client settings")

// DefaultClientSettings are a tunnel's settings until they are set: no
// endpoint host, the tunnel's port, no DNS, all traffic, keepalive 25 s.
func DefaultClientSettings() ClientSettings {
	return ClientSettings{AllowedIPs: slices.Clone(DefaultClientAllowedIPs), PersistentKeepalive: DefaultClientKeepalive}
}

// Validate checks the settings; the error matches ErrClientSettings.
func (s *ClientSettings) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrClientSettings, fmt.Sprintf(format, args...))
	}
	if s.EndpointHost != "" {
		if err := validHost(s.EndpointHost); err != nil {
			return bad("endpoint host: %v", err)
		}
	}
	if len(s.DNS) > maxClientDNS {
		return bad("DNS: more than %d servers", maxClientDNS)
	}
	for _, a := range s.DNS {
		if !a.IsValid() || a.Zone() != "" || a.IsUnspecified() {
			return bad("DNS: %q is not a server's address", a)
		}
	}
	if len(s.AllowedIPs) == 0 {
		return bad("allowed IPs: at least one prefix (0.0.0.0/0, ::/0 for all traffic)")
	}
	if len(s.AllowedIPs) > maxClientAllowedIPs {
		return bad("allowed IPs: more than %d prefixes", maxClientAllowedIPs)
	}
	for _, p := range s.AllowedIPs {
		if !p.IsValid() || p.Addr().Zone() != "" {
			return bad("allowed IPs: %q is not a prefix", p)
		}
	}
	return nil
}

// validHost accepts an IP address (without zone) or a DNS name: 1 to 253
// bytes of labels of letters, digits, '-' and '_', each 1 to 63 bytes, not
// starting or ending with '-'. Nothing else can reach a client's
// configuration (no space, '#', '=' or newline).
func validHost(h string) error {
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" || a.IsUnspecified() {
			return fmt.Errorf("%q: not an address clients can reach", h)
		}
		return nil
	}
	if len(h) > maxHostLen {
		return fmt.Errorf("longer than %d bytes", maxHostLen)
	}
	name := strings.TrimSuffix(h, ".")
	if name == "" {
		return fmt.Errorf("%q: not a host name or IP address", h)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q: not a host name or IP address", h)
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%q: not a host name or IP address", h)
			}
		}
	}
	return nil
}

// ClientSettings returns tunnel's client settings (the defaults until
// they are set).
func (m *Manager) ClientSettings(tunnel string) (ClientSettings, error) {
	if err := m.needConfig(tunnel); err != nil {
		return ClientSettings{}, err
	}
	st, err := m.clients.read(tunnel)
	if err != nil {
		return ClientSettings{}, err
	}
	if st.Settings == nil {
		return DefaultClientSettings(), nil
	}
	return *st.Settings, nil
}

// SetClientSettings validates and stores tunnel's client settings. They
// apply to clients added from now on; existing clients keep the
// configuration they were given.
func (m *Manager) SetClientSettings(tunnel string, s ClientSettings) error {
	if err := m.needConfig(tunnel); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	s.DNS, s.AllowedIPs = slices.Clone(s.DNS), slices.Clone(s.AllowedIPs)
	if err := m.clients.update(tunnel, func(t *tunnelState) error {
		t.Settings = &s
		return nil
	}); err != nil {
		return err
	}
	m.Logf(LogTagTunnel, "client settings of %s changed", tunnel)
	return nil
}

// needConfig checks that tunnel has a configuration file the manager may
// change.
func (m *Manager) needConfig(tunnel string) error {
	if err := ValidName(tunnel); err != nil {
		return err
	}
	data, err := m.store.Read(tunnel)
	if errors.Is(err, ErrNotFound) && m.running(tunnel) {
		return fmt.Errorf("tunnel %s: %w", tunnel, ErrReadOnly)
	}
	clear(data)
	return err
}
