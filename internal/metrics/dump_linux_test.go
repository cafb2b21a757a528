//go:build linux

package metrics

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/tun"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// The end-to-end test runs two warren engines in process, joined by an
// in-memory network and serving UAPI where wg(8) looks, passes traffic
// between them, and compares a scrape with Debian's `wg show all dump` of
// the same moment, label for label and value for value.

type e2eNode struct {
	name string
	dev  *device.Device
	tun  *tun.Memory
	priv noise.PrivateKey
	addr netip.AddrPort // underlay
	v4   netip.Addr     // tunnel address
}

func newE2ENode(t *testing.T, n *netsim.Network, name string, i byte) *e2eNode {
	t.Helper()
	priv, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nd := &e2eNode{
		name: name,
		priv: priv,
		addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, i}), 51820+uint16(i)),
		v4:   netip.AddrFrom4([4]byte{10, 9, 0, i}),
		tun:  tun.NewMemory(name, 1420),
	}
	nd.tun.SetWriteDrop(true) // nobody reads what the engine delivers
	nd.dev, err = device.New(nd.tun, n.NewBind(nd.addr.Addr()), device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nd.dev.Close() })
	port := nd.addr.Port()
	if err := nd.dev.Apply(&wgtypes.Config{PrivateKey: &nd.priv, ListenPort: &port}); err != nil {
		t.Fatal(err)
	}
	if err := nd.dev.Up(); err != nil {
		t.Fatal(err)
	}
	l, err := uapi.Listen(uapi.DefaultSocketDir, name)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { uapi.Serve(l, nd.dev, t.Logf); close(done) }()
	t.Cleanup(func() { l.Close(); <-done })
	return nd
}

// peerWith makes b a peer of a, with extra allowed IPs.
func peerWith(t *testing.T, a, b *e2eNode, extra ...string) {
	t.Helper()
	ep := b.addr
	pc := wgtypes.PeerConfig{PublicKey: b.priv.PublicKey(), Endpoint: &ep, AllowedIPs: []netip.Prefix{netip.PrefixFrom(b.v4, 32)}}
	for _, e := range extra {
		pc.AllowedIPs = append(pc.AllowedIPs, netip.MustParsePrefix(e))
	}
	if err := a.dev.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{pc}}); err != nil {
		t.Fatal(err)
	}
}

// packet is an IPv4 datagram of size bytes from src to dst.
func packet(src, dst netip.Addr, size int) []byte {
	p := make([]byte, size)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(size))
	p[8] = 64
	p[9] = 17
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	return p
}

func peerState(d *device.Device, k noise.PublicKey) wgtypes.Peer {
	for _, p := range d.State().Peers {
		if p.PublicKey == k {
			return p
		}
	}
	return wgtypes.Peer{}
}

// uapiSource reads the named interfaces over UAPI, as the manager does,
// and names peers from names.
func uapiSource(ifaces []string, names map[noise.PublicKey]string) Source {
	return SourceFunc(func(ctx context.Context) ([]Device, error) {
		var out []Device
		for _, name := range ifaces {
			c, err := uapi.Dial(uapi.DefaultSocketDir, name)
			if err != nil {
				return nil, err
			}
			if dl, ok := ctx.Deadline(); ok {
				c.SetDeadline(dl)
			}
			d, err := uapi.Get(c)
			c.Close()
			if err != nil {
				return nil, fmt.Errorf("get %s: %w", name, err)
			}
			dev := Device{Name: name}
			for _, p := range d.Peers {
				dev.Peers = append(dev.Peers, Peer{Peer: p, Name: names[p.PublicKey]})
			}
			out = append(out, dev)
		}
		return out, nil
	})
}

// dump runs `wg show all dump` and keeps the peer lines of ifaces.
func dump(t *testing.T, ifaces ...string) []string {
	t.Helper()
	out, err := exec.Command("wg", "show", "all", "dump").Output()
	if err != nil {
		t.Fatalf("wg show all dump: %v", err)
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		for _, name := range ifaces {
			if f[0] == name && len(f) == 9 {
				lines = append(lines, line)
			}
		}
	}
	return lines
}

// expositionOf turns dump peer lines into the exporter's exposition.
func expositionOf(lines []string, names map[string]string) string {
	var b strings.Builder
	for _, m := range []struct {
		name, help, typ string
		field           int
	}{
		{nameSent, helpSent, "counter", 7},
		{nameReceived, helpReceived, "counter", 6},
		{nameHandshake, helpHandshake, "gauge", 5},
	} {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.typ)
		for _, line := range lines {
			f := strings.Split(line, "\t")
			labels := fmt.Sprintf("interface=%q,public_key=%q,allowed_ips=%q", f[0], f[1], f[4])
			if n := names[f[1]]; n != "" {
				labels += fmt.Sprintf(",friendly_name=%q", n)
			}
			fmt.Fprintf(&b, "%s{%s} %s\n", m.name, labels, f[m.field])
		}
	}
	return b.String()
}

func TestScrapeMatchesWGDump(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to serve UAPI in " + uapi.DefaultSocketDir)
	}
	if _, err := exec.LookPath("wg"); err != nil {
		t.Skip("needs Debian's wg (apt-get install wireguard-tools)")
	}
	net := netsim.New(netsim.Options{})
	t.Cleanup(func() { net.Close() })
	id := os.Getpid() % 100000
	a := newE2ENode(t, net, fmt.Sprintf("wm%da", id), 1)
	b := newE2ENode(t, net, fmt.Sprintf("wm%db", id), 2)
	peerWith(t, a, b, "fd00:9::2/128", "10.9.100.0/24")
	peerWith(t, b, a)
	// A peer of a that never answers: no endpoint, no allowed IPs.
	idle, _ := noise.NewPrivateKey(rand.Reader)
	if err := a.dev.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: idle.PublicKey()}}}); err != nil {
		t.Fatal(err)
	}

	// Traffic both ways until both have a handshake and bytes.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := a.tun.Inject(packet(a.v4, b.v4, 300)); err != nil {
			t.Fatal(err)
		}
		if err := b.tun.Inject(packet(b.v4, a.v4, 1000)); err != nil {
			t.Fatal(err)
		}
		pa, pb := peerState(a.dev, b.priv.PublicKey()), peerState(b.dev, a.priv.PublicKey())
		if pa.RxBytes > 5000 && pb.RxBytes > 2000 && !pa.LastHandshakeTime.IsZero() && !pb.LastHandshakeTime.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no traffic between the engines: a %+v, b %+v", pa, pb)
		}
		time.Sleep(5 * time.Millisecond)
	}

	names := map[noise.PublicKey]string{b.priv.PublicKey(): `bob "the" builder`, idle.PublicKey(): "idle"}
	byKey := map[string]string{}
	for k, v := range names {
		byKey[k.String()] = v
	}
	tokenPath := tokenFile(t, goodToken)
	s, err := New(uapiSource([]string{a.name, b.name}, names), Options{Addr: "[::]:9586", TokenFile: tokenPath})
	if err != nil {
		t.Fatal(err)
	}
	// Counters move on their own (keepalives); compare a scrape with the
	// dumps taken just before and after it when those agree.
	for attempt := 0; ; attempt++ {
		before := dump(t, a.name, b.name)
		w := get(t, s, http.MethodGet, "/metrics", "Bearer "+goodToken)
		after := dump(t, a.name, b.name)
		if strings.Join(before, "\n") != strings.Join(after, "\n") {
			if attempt == 10 {
				t.Fatal("the devices never held still for a scrape")
			}
			continue
		}
		if w.Code != http.StatusOK {
			t.Fatalf("scrape: %d %s", w.Code, w.Body)
		}
		if len(before) != 3 {
			t.Fatalf("wg show all dump has %d peer lines for our interfaces, want 3:\n%s", len(before), strings.Join(before, "\n"))
		}
		got := parse(t, w.Body)
		for name := range got {
			if !strings.HasPrefix(name, "wireguard_") {
				delete(got, name)
			}
		}
		want := expositionOf(before, byKey)
		compareExposition(t, got, strings.NewReader(want))
		if t.Failed() {
			t.Logf("wg show all dump:\n%s", strings.Join(before, "\n"))
		}
		return
	}
}
