package wgref

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.zx2c4.com/wireguard/device"
	reftun "golang.zx2c4.com/wireguard/tun"
	"golang.zx2c4.com/wireguard/tun/tuntest"

	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/tun"
)

// Options configures NewDevice. The zero value uses a ChannelTUN and logs
// errors to the test log.
type Options struct {
	// Memory, if set, is the TUN the device runs on (adapted with
	// MemoryTUN) instead of a tuntest.ChannelTUN, so tests can drive the
	// reference and warren through the same Inject/Outbound API.
	Memory *tun.Memory
	// Verbose logs the reference's verbose messages to the test log.
	Verbose bool
}

// Device is a running reference device on a netsim network.
type Device struct {
	// Dev is the reference device.
	Dev *device.Device
	// Bind is the device's socket on the network.
	Bind *Bind
	// TUN is the device's TUN unless Options.Memory was given: write IP
	// packets to TUN.Outbound for the device to send through the tunnel,
	// and read packets it received from the tunnel from TUN.Inbound.
	TUN *tuntest.ChannelTUN
	// Memory is Options.Memory, if given.
	Memory *tun.Memory

	closeOnce sync.Once
	logMu     sync.Mutex
	logOff    bool
}

// NewDevice starts a reference device at addr on n and closes it when tb's
// test ends. The device is up (its socket bound at a random port) but has no key, port or peers until IpcSet.
func NewDevice(tb testing.TB, n *netsim.Network, addr netip.Addr, opts Options) *Device {
	tb.Helper()
	d := &Device{Bind: NewBind(n, addr), Memory: opts.Memory}
	var td reftun.Device
	if opts.Memory != nil {
		td = MemoryTUN(opts.Memory)
	} else {
		d.TUN = tuntest.NewChannelTUN()
		td = d.TUN.TUN()
	}
	prefix := fmt.Sprintf("wgref %v: ", addr)
	logf := func(format string, args ...any) {
		d.logMu.Lock()
		defer d.logMu.Unlock()
		if !d.logOff {
			tb.Logf(prefix+format, args...)
		}
	}
	logger := &device.Logger{Verbosef: device.DiscardLogf, Errorf: logf}
	if opts.Verbose {
		logger.Verbosef = logf
	}
	d.Dev = device.NewDevice(td, d.Bind, logger)
	tb.Cleanup(d.Close)
	// The TUN's initial EventUp brings the device up asynchronously; until
	// then it drops packets read from the TUN. Bring it up now so a test
	// may inject packets as soon as NewDevice returns.
	if err := d.Dev.Up(); err != nil {
		tb.Fatalf("wgref: device up: %v", err)
	}
	return d
}

// Close closes the device, its TUN and its socket. It is idempotent.
func (d *Device) Close() {
	d.closeOnce.Do(func() {
		d.Dev.Close()
		d.logMu.Lock()
		d.logOff = true // the test may be over; its log may no longer be written
		d.logMu.Unlock()
	})
}

// IpcSet applies a UAPI set operation (the body, "key=value" lines) and
// fails tb if the device rejects it.
func (d *Device) IpcSet(tb testing.TB, uapi string) {
	tb.Helper()
	if err := d.Dev.IpcSet(uapi); err != nil {
		tb.Fatalf("wgref: IpcSet: %v\n%s", err, uapi)
	}
}

// IpcGet returns the device's UAPI get output, failing tb on error.
func (d *Device) IpcGet(tb testing.TB) string {
	tb.Helper()
	s, err := d.Dev.IpcGet()
	if err != nil {
		tb.Fatalf("wgref: IpcGet: %v", err)
	}
	return s
}

// Get returns the value of the first line "key=value" of the device's UAPI
// get output with the given key, or "" if none.
func (d *Device) Get(tb testing.TB, key string) string {
	tb.Helper()
	for line := range strings.SplitSeq(d.IpcGet(tb), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// AddrPort returns the address and port the device's socket is bound at,
// or the zero AddrPort if it is not bound.
func (d *Device) AddrPort() netip.AddrPort { return d.Bind.Sim.LocalAddrPort() }

// Key is a Curve25519 key as the UAPI writes it: 32 bytes.
type Key [32]byte

// Hex returns the key in the UAPI's lowercase hex.
func (k Key) Hex() string { return hex.EncodeToString(k[:]) }

// GenerateKeys returns a fresh private key and its public key.
func GenerateKeys(tb testing.TB) (private, public Key) {
	tb.Helper()
	sk, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatalf("wgref: generate key: %v", err)
	}
	copy(private[:], sk.Bytes())
	copy(public[:], sk.PublicKey().Bytes())
	return private, public
}

// PublicKey returns the public key of private.
func PublicKey(tb testing.TB, private Key) Key {
	tb.Helper()
	sk, err := ecdh.X25519().NewPrivateKey(private[:])
	if err != nil {
		tb.Fatalf("wgref: public key: %v", err)
	}
	var pub Key
	copy(pub[:], sk.PublicKey().Bytes())
	return pub
}

// Peer is one peer for Configure.
type Peer struct {
	PublicKey    Key
	PresharedKey *Key
	// Endpoint is the peer's address; the zero value leaves it unset (the
	// device learns it from the peer's first authenticated packet).
	Endpoint   netip.AddrPort
	AllowedIPs []netip.Prefix
	// PersistentKeepalive is the keepalive interval in seconds; 0 is off.
	PersistentKeepalive uint16
}

// Config is a whole device configuration for Configure.
type Config struct {
	PrivateKey Key
	ListenPort uint16 // 0 picks a free port
	Peers      []Peer
}

// UAPI returns the UAPI set body that replaces a device's configuration
// with c.
func (c Config) UAPI() string {
	var b strings.Builder
	fmt.Fprintf(&b, "private_key=%s\nlisten_port=%d\nreplace_peers=true\n", c.PrivateKey.Hex(), c.ListenPort)
	for _, p := range c.Peers {
		fmt.Fprintf(&b, "public_key=%s\n", p.PublicKey.Hex())
		if p.PresharedKey != nil {
			fmt.Fprintf(&b, "preshared_key=%s\n", p.PresharedKey.Hex())
		}
		if p.Endpoint.IsValid() {
			fmt.Fprintf(&b, "endpoint=%s\n", p.Endpoint)
		}
		fmt.Fprintf(&b, "persistent_keepalive_interval=%d\nreplace_allowed_ips=true\n", p.PersistentKeepalive)
		for _, ip := range p.AllowedIPs {
			fmt.Fprintf(&b, "allowed_ip=%s\n", ip)
		}
	}
	return b.String()
}

// Configure replaces the device's configuration with c, failing tb if the
// device rejects it.
func (d *Device) Configure(tb testing.TB, c Config) {
	tb.Helper()
	d.IpcSet(tb, c.UAPI())
}
