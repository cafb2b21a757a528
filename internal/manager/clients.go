package manager

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// Clients are peers the manager adds to a tunnel that listens (a
// "server"): it generates their keys and a preshared key, gives them the
// next free address of each of the tunnel's subnets, adds them to the
// running device (one peer, as a UAPI set that leaves the others alone)
// and to the configuration (a [Peer] section with a "# Name = ..."
// comment, appended; every other byte of the file kept), and hands back
// their configuration once. It never keeps a client's private key: the
// ClientConfig AddClient returns is the only copy.
//
// A client may expire. An expired or disabled client's [Peer] section
// moves from the configuration into the manager's state (clients.json),
// and the peer is removed from the running device; nothing that reads the
// configuration (warren up, wg setconf, SaveConfig) can bring it back.
// Enabling it puts the same section back, so the configuration the client
// holds works again.

// Errors of the client operations, matchable with errors.Is.
var (
	// ErrClientName: not a name a client can have (see conf.ValidPeerName),
	// or one another peer of the tunnel has.
	ErrClientName = errors.New("invalid client name")
	// ErrExpiry: an expiry that is not in the future.
	ErrExpiry = errors.New("invalid expiry")
	// ErrNoEndpoint: the tunnel's client settings name no endpoint host.
	ErrNoEndpoint = errors.New("no endpoint host in the tunnel's client settings")
	// ErrNotListening: the tunnel sets no ListenPort (and the client
	// settings no endpoint port), so clients could not find it.
	ErrNotListening = errors.New("the tunnel sets no ListenPort")
	// ErrAddressTaken: a disabled client cannot be enabled because another
	// peer now holds its address or key.
	ErrAddressTaken = errors.New("held by another peer")
)

// Client is a client the manager added to a tunnel.
type Client struct {
	PublicKey noise.PublicKey
	// Name is the client's name (as the configuration's "# Name =" says
	// while it is enabled). It is text anyone who could name the client
	// chose: escape it wherever it is shown.
	Name string
	// Addresses are the client's tunnel addresses (host prefixes).
	Addresses []netip.Prefix
	Created   time.Time
	// Expires is zero when the client never expires.
	Expires time.Time
	// Disabled: the client's peer is out of the configuration and the
	// device; DisabledAt says since when, DisabledReason why ("expired"
	// or "disabled").
	Disabled       bool
	DisabledAt     time.Time
	DisabledReason string
	// Running: the tunnel's running device has the peer. LastHandshake,
	// RxBytes and TxBytes are its statistics then.
	Running          bool
	LastHandshake    time.Time
	RxBytes, TxBytes uint64
}

// NewClient is what AddClient needs.
type NewClient struct {
	// Name is required: 1 to 64 bytes, no control or formatting characters.
	Name string
	// Expires is zero for a client that never expires.
	Expires time.Time
}

// ClientConfig is a new client's wg-quick configuration. Text holds the
// client's private key and exists nowhere else: show it, then Zero it.
type ClientConfig struct {
	Text []byte
	// FileName is a name for the file (NAME.conf, NAME as a tunnel name:
	// the WireGuard apps name the tunnel after the file).
	FileName string
}

// Zero wipes the configuration's text.
func (c *ClientConfig) Zero() { clear(c.Text); c.Text = nil }

// Reasons a client is disabled.
const (
	ReasonExpired  = "expired"
	ReasonDisabled = "disabled"
)

// Clients lists the clients the manager added to tunnel, oldest first.
func (m *Manager) Clients(tunnel string) ([]Client, error) {
	if err := ValidName(tunnel); err != nil {
		return nil, err
	}
	data, err := m.store.Read(tunnel)
	if errors.Is(err, ErrNotFound) && m.running(tunnel) {
		return nil, fmt.Errorf("tunnel %s: %w", tunnel, ErrReadOnly)
	}
	if err != nil {
		return nil, err
	}
	defer clear(data)
	f, err := parseConfig(tunnel, data)
	if err != nil {
		return nil, err
	}
	st, err := m.clients.read(tunnel)
	if err != nil {
		return nil, err
	}
	dev, _ := m.sys.Device(tunnel)
	out := []Client{}
	for key, rec := range st.Clients {
		pub, err := parsePub(key)
		if err != nil {
			continue
		}
		if c, ok := clientView(pub, rec, f, dev); ok {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Client) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.PublicKey.String(), b.PublicKey.String())
	})
	return out, nil
}

// clientView is what a record, the configuration and the device say of a
// client; false when the client is gone (its peer was taken out of the
// configuration by an edit).
func clientView(pub noise.PublicKey, rec *clientRecord, f *conf.File, dev *wgtypes.Device) (Client, bool) {
	c := Client{PublicKey: pub, Name: rec.Name, Addresses: slices.Clone(rec.Addresses), Created: rec.Created, Expires: rec.Expires}
	inFile := false
	for _, p := range f.Peers {
		if p.PublicKey == pub {
			inFile = true
			if p.Name != "" {
				c.Name = p.Name
			}
			c.Addresses = slices.Clone(p.AllowedIPs)
			break
		}
	}
	if dev != nil {
		for _, p := range dev.Peers {
			if p.PublicKey == pub {
				c.Running, c.LastHandshake, c.RxBytes, c.TxBytes = true, p.LastHandshakeTime, p.RxBytes, p.TxBytes
			}
		}
	}
	switch {
	case inFile:
		return c, true
	case rec.Disabled != nil:
		c.Disabled, c.DisabledAt, c.DisabledReason = true, rec.Disabled.At, rec.Disabled.Reason
		return c, true
	}
	return c, false
}

func parsePub(s string) (noise.PublicKey, error) {
	k, err := conf.ParseKey(s)
	return noise.PublicKey(k), err
}

// checkClientName validates a new client's name against conf's rules and
// the names the tunnel's peers and clients already have.
func checkClientName(name string, f *conf.File, st *tunnelState) error {
	if err := conf.ValidPeerName(name); err != nil {
		return fmt.Errorf("%w: %w", ErrClientName, err)
	}
	taken := func() error { return fmt.Errorf("%w: another peer of this tunnel is named %q", ErrClientName, name) }
	for _, p := range f.Peers {
		if p.Name == name {
			return taken()
		}
	}
	for _, rec := range st.Clients {
		if rec.Disabled != nil && rec.Name == name {
			return taken()
		}
	}
	return nil
}

// heldPrefixes are the addresses no new client may have: every peer's
// allowed IPs in the configuration and on the device, and the addresses
// of disabled clients (kept for when they are enabled again).
func heldPrefixes(f *conf.File, dev *wgtypes.Device, st *tunnelState) []netip.Prefix {
	var held []netip.Prefix
	for _, p := range f.Peers {
		held = append(held, p.AllowedIPs...)
	}
	if dev != nil {
		for _, p := range dev.Peers {
			held = append(held, p.AllowedIPs...)
		}
	}
	for _, rec := range st.Clients {
		if rec.Disabled != nil {
			held = append(held, rec.Addresses...)
		}
	}
	return held
}

// AddClient adds a client to tunnel, which must have a configuration with
// a ListenPort (or client settings with an endpoint port), an Address to
// give addresses from, and client settings with an endpoint host. See
// Clients for what it does. Nothing is half done: if the running device
// refuses the peer, or the state cannot be saved, the file and the state
// are put back.
func (m *Manager) AddClient(ctx context.Context, tunnel string, req NewClient) (*Client, *ClientConfig, error) {
	if err := ValidName(tunnel); err != nil {
		return nil, nil, err
	}
	now := m.now()
	if !req.Expires.IsZero() && !req.Expires.After(now) {
		return nil, nil, fmt.Errorf("%w: %s is not in the future", ErrExpiry, req.Expires.UTC().Format(time.RFC3339))
	}
	unlock, err := m.lock(tunnel)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	data, err := m.store.Read(tunnel)
	if errors.Is(err, ErrNotFound) && m.running(tunnel) {
		return nil, nil, fmt.Errorf("tunnel %s: %w", tunnel, ErrReadOnly)
	}
	if err != nil {
		return nil, nil, err
	}
	defer clear(data)
	f, err := parseConfig(tunnel, data)
	if err != nil {
		return nil, nil, err
	}
	if f.Interface.PrivateKey == nil {
		return nil, nil, &ConfigError{Msg: "[Interface] has no PrivateKey"}
	}
	st, err := m.clients.read(tunnel)
	if err != nil {
		return nil, nil, err
	}
	settings := DefaultClientSettings()
	if st.Settings != nil {
		settings = *st.Settings
	}
	if err := checkClientName(req.Name, f, st); err != nil {
		return nil, nil, err
	}
	if settings.EndpointHost == "" {
		return nil, nil, fmt.Errorf("tunnel %s: %w: set it in the tunnel's client settings", tunnel, ErrNoEndpoint)
	}
	port := settings.EndpointPort
	if port == 0 {
		if f.Interface.ListenPort == nil || *f.Interface.ListenPort == 0 {
			return nil, nil, fmt.Errorf("tunnel %s: %w: give it one, or an endpoint port in the client settings", tunnel, ErrNotListening)
		}
		port = *f.Interface.ListenPort
	}
	dev, devErr := m.sys.Device(tunnel)
	if devErr != nil {
		dev = nil
	}
	addrs, err := allocate(f.Interface.Addresses, heldPrefixes(f, dev, st))
	if err != nil {
		return nil, nil, fmt.Errorf("tunnel %s: %w", tunnel, err)
	}

	priv, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate the client's key: %w", err)
	}
	defer priv.Zero()
	psk, err := noise.NewPresharedKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate the preshared key: %w", err)
	}
	defer psk.Zero()
	pub := priv.PublicKey()
	for _, p := range f.Peers {
		if p.PublicKey == pub {
			return nil, nil, fmt.Errorf("the new key is already a peer's (the random source is broken)")
		}
	}

	block := peerBlock(req.Name, pub, psk, addrs)
	newData := appendPeerBlock(data, block)
	defer clear(newData)
	nf, err := parseConfig(tunnel, newData)
	if err != nil || len(nf.Peers) != len(f.Peers)+1 || !samePeers(nf.Peers[:len(f.Peers)], f.Peers) ||
		nf.Peers[len(f.Peers)].PublicKey != pub || !reflect.DeepEqual(nf.Interface, f.Interface) {
		return nil, nil, fmt.Errorf("add client to %s: %w", tunnel, errPeerText)
	}

	text, err := clientConfigText(priv, psk, f.Interface.PrivateKey.PublicKey(), addrs, settings, port)
	if err != nil {
		return nil, nil, err
	}

	// The record first: a peer in the file without one would never
	// expire. A record without its peer is dropped as gone.
	rec := &clientRecord{Name: req.Name, Addresses: addrs, Created: now, Expires: req.Expires}
	key := keyOf(pub)
	if err := m.clients.update(tunnel, func(t *tunnelState) error {
		t.Clients[key] = rec
		return nil
	}); err != nil {
		clear(text)
		return nil, nil, err
	}
	undoRecord := func() {
		m.clients.update(tunnel, func(t *tunnelState) error {
			delete(t.Clients, key)
			return nil
		})
	}
	if err := m.store.Write(tunnel, newData); err != nil {
		undoRecord()
		clear(text)
		return nil, nil, err
	}
	m.forget(tunnel)
	if dev != nil {
		cfg := &wgtypes.Config{Peers: []wgtypes.PeerConfig{{
			PublicKey: pub, PresharedKey: &psk, ReplaceAllowedIPs: true, AllowedIPs: slices.Clone(addrs),
		}}}
		if err := m.sys.Configure(tunnel, cfg); err != nil {
			werr := m.store.Write(tunnel, data)
			m.forget(tunnel)
			undoRecord()
			clear(text)
			if werr != nil {
				return nil, nil, fmt.Errorf("add client to running tunnel %s: %w (and restoring the old file: %w)", tunnel, err, werr)
			}
			return nil, nil, fmt.Errorf("add client to running tunnel %s (nothing was changed): %w", tunnel, err)
		}
	}
	m.Logf(LogTagTunnel, "added client %q (%s) to %s", req.Name, pub, tunnel)
	if !req.Expires.IsZero() {
		m.wakeExpiry()
	}
	c := Client{PublicKey: pub, Name: req.Name, Addresses: addrs, Created: now, Expires: req.Expires, Running: dev != nil}
	return &c, &ClientConfig{Text: text, FileName: clientFileName(req.Name, tunnel)}, nil
}

// peerBlock is the [Peer] section the server's configuration gets for a
// client.
func peerBlock(name string, pub noise.PublicKey, psk noise.PresharedKey, addrs []netip.Prefix) string {
	return "# Name = " + name + "\n[Peer]\nPublicKey = " + pub.String() + "\nPresharedKey = " + psk.Base64() +
		"\nAllowedIPs = " + joinPrefixes(addrs) + "\n"
}

func joinPrefixes(ps []netip.Prefix) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = conf.FormatPrefix(p)
	}
	return strings.Join(parts, ", ")
}

// clientConfigText is the client's wg-quick configuration, checked by
// parsing it as warren up would.
func clientConfigText(priv noise.PrivateKey, psk noise.PresharedKey, server noise.PublicKey, addrs []netip.Prefix,
	s ClientSettings, port uint16) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("[Interface]\nPrivateKey = " + priv.Base64() + "\nAddress = " + joinPrefixes(addrs) + "\n")
	if len(s.DNS) > 0 {
		dns := make([]string, len(s.DNS))
		for i, a := range s.DNS {
			dns[i] = conf.FormatAddr(a)
		}
		b.WriteString("DNS = " + strings.Join(dns, ", ") + "\n")
	}
	host := s.EndpointHost
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		host = "[" + host + "]"
	}
	b.WriteString("\n[Peer]\nPublicKey = " + server.String() + "\nPresharedKey = " + psk.Base64() +
		"\nAllowedIPs = " + joinPrefixes(s.AllowedIPs) + "\nEndpoint = " + host + ":" + strconv.Itoa(int(port)) + "\n")
	if s.PersistentKeepalive > 0 {
		b.WriteString("PersistentKeepalive = " + strconv.Itoa(int(s.PersistentKeepalive)) + "\n")
	}
	if _, err := conf.Parse("client.conf", b.Bytes(), conf.Options{Quick: true}); err != nil {
		clear(b.Bytes())
		return nil, fmt.Errorf("%w: the client's configuration does not parse: %w", ErrClientSettings, err)
	}
	return b.Bytes(), nil
}

// clientFileName is a file name for a client's configuration whose base
// is a valid tunnel name: the client's name reduced to the characters a
// tunnel name may have (at most 15), or the tunnel's name if none is left.
func clientFileName(client, tunnel string) string {
	var b strings.Builder
	for _, r := range client {
		if b.Len() == 15 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '=', r == '+', r == '.', r == '-':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('_')
		}
	}
	name := strings.TrimLeft(b.String(), "-")
	if ValidName(name) != nil {
		name = tunnel
	}
	return name + ".conf"
}

// DisableClient takes a client out of the tunnel: its [Peer] section
// moves from the configuration to the manager's state and the peer leaves
// the running device. Disabling a disabled client changes nothing.
func (m *Manager) DisableClient(ctx context.Context, tunnel string, pub noise.PublicKey) (*Client, error) {
	if err := ValidName(tunnel); err != nil {
		return nil, err
	}
	unlock, err := m.lock(tunnel)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := m.disableLocked(tunnel, pub, ReasonDisabled); err != nil {
		return nil, err
	}
	return m.clientLocked(tunnel, pub)
}

// disableLocked disables a client of tunnel, whose lock the caller holds.
func (m *Manager) disableLocked(tunnel string, pub noise.PublicKey, reason string) error {
	st, err := m.clients.read(tunnel)
	if err != nil {
		return err
	}
	key := keyOf(pub)
	rec := st.Clients[key]
	if rec == nil {
		return fmt.Errorf("client %s of %s: %w", pub, tunnel, ErrNotFound)
	}
	if rec.Disabled != nil {
		return m.removeFromDevice(tunnel, pub)
	}
	data, err := m.store.Read(tunnel)
	if err != nil {
		return err
	}
	defer clear(data)
	out, block, err := removePeerBlock(data, pub)
	if errors.Is(err, ErrNotFound) {
		// Taken out of the file by an edit: the client is gone.
		m.clients.update(tunnel, func(t *tunnelState) error {
			delete(t.Clients, key)
			return nil
		})
		m.removeFromDevice(tunnel, pub)
		return fmt.Errorf("client %s of %s (its peer was removed from the configuration): %w", pub, tunnel, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("disable client %s of %s: %w", pub, tunnel, err)
	}
	defer clear(out)
	name := rec.Name
	if err := m.clients.update(tunnel, func(t *tunnelState) error {
		r := t.Clients[key]
		if r == nil {
			return fmt.Errorf("client %s of %s: %w", pub, tunnel, ErrNotFound)
		}
		// What the section says now (an edit may have changed it) is
		// what enabling puts back: keep its name and reserve its
		// addresses.
		if bp := blockPeer(block); bp != nil {
			if bp.Name != "" {
				r.Name, name = bp.Name, bp.Name
			}
			r.Addresses = slices.Clone(bp.AllowedIPs)
		}
		r.Disabled = &disabledPeer{At: m.now(), Reason: reason, Block: block}
		return nil
	}); err != nil {
		return err
	}
	if err := m.store.Write(tunnel, out); err != nil {
		m.clients.update(tunnel, func(t *tunnelState) error {
			if r := t.Clients[key]; r != nil {
				r.Disabled = nil
			}
			return nil
		})
		return err
	}
	m.forget(tunnel)
	m.Logf(LogTagTunnel, "client %q (%s) of %s %s", name, pub, tunnel, reason)
	// The file no longer has the peer; should the device refuse, the
	// expiry loop tries again (see reconcile).
	return m.removeFromDevice(tunnel, pub)
}

// blockPeer is the peer a removed section describes (nil if it does not
// parse).
func blockPeer(block string) *conf.Peer {
	f, err := conf.Parse("client", []byte(block), conf.Options{})
	if err != nil || len(f.Peers) == 0 {
		return nil
	}
	return &f.Peers[0]
}

// removeFromDevice removes a peer from tunnel's running device, if it runs
// and has it.
func (m *Manager) removeFromDevice(tunnel string, pub noise.PublicKey) error {
	dev, err := m.sys.Device(tunnel)
	if err != nil {
		return nil // not running
	}
	if !slices.ContainsFunc(dev.Peers, func(p wgtypes.Peer) bool { return p.PublicKey == pub }) {
		return nil
	}
	if err := m.sys.Configure(tunnel, &wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: pub, Remove: true}}}); err != nil {
		m.Logf(LogTagTunnel, "removing peer %s from running %s failed (will retry): %v", pub, tunnel, err)
		return fmt.Errorf("remove peer %s from running tunnel %s (it is out of the configuration; retried every minute): %w", pub, tunnel, err)
	}
	return nil
}

// EnableClient puts a disabled client back: its [Peer] section returns to
// the end of the configuration and to the running device, with the expiry
// given (zero: never). For an enabled client it only sets the expiry.
// ErrAddressTaken if another peer took the client's address meanwhile.
func (m *Manager) EnableClient(ctx context.Context, tunnel string, pub noise.PublicKey, expires time.Time) (*Client, error) {
	if err := ValidName(tunnel); err != nil {
		return nil, err
	}
	if !expires.IsZero() && !expires.After(m.now()) {
		return nil, fmt.Errorf("%w: %s is not in the future", ErrExpiry, expires.UTC().Format(time.RFC3339))
	}
	unlock, err := m.lock(tunnel)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := m.clients.read(tunnel)
	if err != nil {
		return nil, err
	}
	key := keyOf(pub)
	rec := st.Clients[key]
	if rec == nil {
		return nil, fmt.Errorf("client %s of %s: %w", pub, tunnel, ErrNotFound)
	}
	data, err := m.store.Read(tunnel)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	f, err := parseConfig(tunnel, data)
	if err != nil {
		return nil, err
	}
	setExpiry := func(t *tunnelState) error {
		r := t.Clients[key]
		if r == nil {
			return fmt.Errorf("client %s of %s: %w", pub, tunnel, ErrNotFound)
		}
		r.Expires = expires
		r.Disabled = nil
		return nil
	}
	if rec.Disabled == nil {
		if !slices.ContainsFunc(f.Peers, func(p conf.Peer) bool { return p.PublicKey == pub }) {
			return nil, fmt.Errorf("client %s of %s: %w", pub, tunnel, ErrNotFound)
		}
		if err := m.clients.update(tunnel, setExpiry); err != nil {
			return nil, err
		}
		m.wakeExpiry()
		return m.clientLocked(tunnel, pub)
	}
	block := rec.Disabled.Block
	bf, err := conf.Parse("client", []byte(block), conf.Options{})
	if err != nil || len(bf.Peers) != 1 || bf.Peers[0].PublicKey != pub || bf.Interface.PrivateKey != nil ||
		bf.Interface.ListenPort != nil || bf.Interface.FwMark != nil {
		return nil, fmt.Errorf("client %s of %s: the kept [Peer] section is damaged", pub, tunnel)
	}
	dev, devErr := m.sys.Device(tunnel)
	if devErr != nil {
		dev = nil
	}
	// Nobody may have taken its key or its addresses meanwhile.
	others := &tunnelState{Clients: map[string]*clientRecord{}}
	for k, r := range st.Clients {
		if k != key {
			others.Clients[k] = r
		}
	}
	held := heldPrefixes(f, dev, others)
	for _, p := range f.Peers {
		if p.PublicKey == pub {
			return nil, fmt.Errorf("client %s of %s: its key: %w (the configuration has it)", pub, tunnel, ErrAddressTaken)
		}
	}
	for _, a := range bf.Peers[0].AllowedIPs {
		for _, h := range held {
			if a.Overlaps(h) {
				return nil, fmt.Errorf("client %s of %s: address %s: %w (%s)", pub, tunnel, conf.FormatPrefix(a), ErrAddressTaken, conf.FormatPrefix(h))
			}
		}
	}
	newData := appendPeerBlock(data, block)
	defer clear(newData)
	nf, err := parseConfig(tunnel, newData)
	if err != nil || len(nf.Peers) != len(f.Peers)+1 || !samePeers(nf.Peers[:len(f.Peers)], f.Peers) || nf.Peers[len(f.Peers)].PublicKey != pub {
		return nil, fmt.Errorf("enable client %s of %s: %w", pub, tunnel, errPeerText)
	}
	var cfg *wgtypes.Config
	if dev != nil {
		cctx, cancel := context.WithTimeout(ctx, applyTimeout)
		cfg, err = (&conf.File{Peers: bf.Peers}).WireGuardConfig(cctx, m.resolver, false)
		cancel()
		if err != nil {
			return nil, &ConfigError{Msg: err.Error()}
		}
	}
	saved := *rec.Disabled
	oldExpires := rec.Expires
	if err := m.clients.update(tunnel, setExpiry); err != nil {
		return nil, err
	}
	undo := func() {
		m.clients.update(tunnel, func(t *tunnelState) error {
			if r := t.Clients[key]; r != nil {
				d := saved
				r.Disabled, r.Expires = &d, oldExpires
			}
			return nil
		})
	}
	if err := m.store.Write(tunnel, newData); err != nil {
		undo()
		return nil, err
	}
	m.forget(tunnel)
	if cfg != nil {
		if err := m.sys.Configure(tunnel, cfg); err != nil {
			werr := m.store.Write(tunnel, data)
			m.forget(tunnel)
			undo()
			if werr != nil {
				return nil, fmt.Errorf("enable client on running tunnel %s: %w (and restoring the old file: %w)", tunnel, err, werr)
			}
			return nil, fmt.Errorf("enable client on running tunnel %s (nothing was changed): %w", tunnel, err)
		}
	}
	m.Logf(LogTagTunnel, "client %q (%s) of %s enabled", rec.Name, pub, tunnel)
	if !expires.IsZero() {
		m.wakeExpiry()
	}
	return m.clientLocked(tunnel, pub)
}

// DeleteClient removes a client everywhere: its peer from the
// configuration (or its kept section from the state) and from the running
// device, and the manager's record of it.
func (m *Manager) DeleteClient(ctx context.Context, tunnel string, pub noise.PublicKey) error {
	if err := ValidName(tunnel); err != nil {
		return err
	}
	unlock, err := m.lock(tunnel)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := m.clients.read(tunnel)
	if err != nil {
		return err
	}
	key := keyOf(pub)
	rec := st.Clients[key]
	if rec == nil {
		return fmt.Errorf("client %s of %s: %w", pub, tunnel, ErrNotFound)
	}
	data, err := m.store.Read(tunnel)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	defer clear(data)
	if data != nil {
		out, _, rerr := removePeerBlock(data, pub)
		switch {
		case errors.Is(rerr, ErrNotFound):
		case rerr != nil:
			return fmt.Errorf("delete client %s of %s: %w", pub, tunnel, rerr)
		default:
			err := m.store.Write(tunnel, out)
			clear(out)
			if err != nil {
				return err
			}
			m.forget(tunnel)
		}
	}
	devErr := m.removeFromDevice(tunnel, pub)
	if err := m.clients.update(tunnel, func(t *tunnelState) error {
		delete(t.Clients, key)
		return nil
	}); err != nil {
		return err
	}
	m.Logf(LogTagTunnel, "deleted client %q (%s) of %s", rec.Name, pub, tunnel)
	return devErr
}

// clientLocked describes one client (the caller holds the tunnel's lock).
func (m *Manager) clientLocked(tunnel string, pub noise.PublicKey) (*Client, error) {
	cs, err := m.Clients(tunnel)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		if cs[i].PublicKey == pub {
			return &cs[i], nil
		}
	}
	return nil, fmt.Errorf("client %s of %s: %w", pub, tunnel, ErrNotFound)
}

// dropClients forgets tunnel's client settings and disabled clients when
// the tunnel is deleted.
func (m *Manager) dropClients(tunnel string) {
	if err := m.clients.drop(tunnel); err != nil {
		m.Logf(LogTagTunnel, "forgetting the clients of %s: %v", tunnel, err)
	}
}
