package proxy

// Throughput of the SOCKS5 proxy against the same proxy code on the
// reference implementation's userspace stack (a test-only forwarder:
// refNetwork below), downloading over loopback UDP from a peer of the same
// implementation. Run with
//
//	go test -run '^$' -bench SOCKS5Download ./internal/proxy
//
// and compare the MB/s of the warren and reference sub-benchmarks
// (warren-to-reference mixes them: warren's client, the reference's server).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/conn"
	refdevice "golang.zx2c4.com/wireguard/device"
	refnetstack "golang.zx2c4.com/wireguard/tun/netstack"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
)

// refNetwork is a Network on the reference's netstack: the forwarder the
// reference would need to offer what warren proxy offers.
type refNetwork struct{ net *refnetstack.Net }

func (r refNetwork) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return r.net.DialContext(ctx, network, address)
}

func (r refNetwork) LookupAddr(ctx context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, nil
	}
	addrs, err := r.net.LookupContextHost(ctx, host)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %q: %w: %v", host, ErrResolve, err)
	}
	return netip.ParseAddr(addrs[0])
}

func (r refNetwork) ListenPacket(ip netip.Addr) (net.PacketConn, error) {
	return r.net.ListenUDPAddrPort(netip.AddrPort{})
}

// newRefClient is a reference device on the reference's netstack holding
// warren's tunnel addresses, peered with server.
func newRefClient(b testing.TB, server *refPeer) refNetwork {
	b.Helper()
	priv, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tdev, tnet, err := refnetstack.CreateNetTUN([]netip.Addr{warrenV4, warrenV6}, []netip.Addr{refV4}, 1420)
	if err != nil {
		b.Fatal(err)
	}
	dev := refdevice.NewDevice(tdev, conn.NewDefaultBind(), refdevice.NewLogger(refdevice.LogLevelSilent, ""))
	b.Cleanup(dev.Close)
	spub := server.priv.PublicKey()
	err = dev.IpcSet("private_key=" + hex.EncodeToString(priv[:]) + "\nlisten_port=0\n" +
		"public_key=" + hex.EncodeToString(spub[:]) + "\nendpoint=127.0.0.1:" + strconv.Itoa(int(server.port)) +
		"\nallowed_ip=10.77.0.0/24\nallowed_ip=fd77::/64\n")
	if err != nil {
		b.Fatal(err)
	}
	if err := dev.Up(); err != nil {
		b.Fatal(err)
	}
	server.addPeer(b, priv.PublicKey(), netip.AddrPort{})
	return refNetwork{tnet}
}

// benchNetwork returns the client side of a tunnel whose far side serves
// the test web server on 10.77.0.1: both sides warren on its userspace
// stack, both the reference on its netstack, or warren to the reference.
func benchNetwork(t testing.TB, impl string) Network {
	t.Helper()
	switch impl {
	case "reference":
		server := newRefPeer(t)
		server.serveHTTP(t)
		return newRefClient(t, server)
	case "warren-to-reference":
		server := newRefPeer(t)
		server.serveHTTP(t)
		return openWarren(t, server)
	}
	var keys [2]noise.PrivateKey
	for i := range keys {
		var err error
		if keys[i], err = noise.NewPrivateKey(rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	open := func(priv noise.PrivateKey, self []netip.Prefix, peer conf.Peer) *Tunnel {
		f := &conf.File{
			Interface: conf.Interface{PrivateKey: &priv, Addresses: self},
			Peers:     []conf.Peer{peer},
		}
		tun, err := OpenTunnel(context.Background(), f, TunnelOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tun.Close() })
		return tun
	}
	server := open(keys[0], []netip.Prefix{netip.PrefixFrom(refV4, 32), netip.PrefixFrom(refV6, 128)}, conf.Peer{
		PublicKey:  keys[1].PublicKey(),
		AllowedIPs: []netip.Prefix{netip.PrefixFrom(warrenV4, 32), netip.PrefixFrom(warrenV6, 128)},
	})
	l, err := server.Net.ListenTCP(netip.AddrPortFrom(refV4, 80))
	if err != nil {
		t.Fatal(err)
	}
	serveTestHTTP(t, l)
	return open(keys[1], []netip.Prefix{netip.PrefixFrom(warrenV4, 32), netip.PrefixFrom(warrenV6, 128)}, conf.Peer{
		PublicKey:  keys[0].PublicKey(),
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.77.0.0/24"), netip.MustParsePrefix("fd77::/64")},
		Endpoint:   "127.0.0.1:" + strconv.Itoa(int(server.Dev.State().ListenPort)),
	})
}

func BenchmarkSOCKS5Download(b *testing.B) {
	const size = 32 << 20
	for _, impl := range []string{"warren", "reference", "warren-to-reference"} {
		b.Run(impl, func(b *testing.B) {
			addr := startSOCKS5(b, &SOCKS5Server{Net: benchNetwork(b, impl)})
			c := httpVia(b, addr, nil)
			url := "http://10.77.0.1/bytes?n=" + strconv.Itoa(size)
			fetch := func() {
				resp, err := c.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != size {
					b.Fatalf("got %d bytes: %v", n, err)
				}
			}
			fetch() // handshake and warm-up
			b.SetBytes(size)
			b.ResetTimer()
			for range b.N {
				fetch()
			}
		})
	}
}

// TestSOCKS5ThroughputRatio prints the throughput of a download through
// the SOCKS5 proxy with warren at both ends (on its userspace stack) and
// with the reference at both ends (on its netstack), best of three
// alternating rounds, and their ratio, for scripts/bench.sh:
//
//	WARREN_BENCH=1 go test -run SOCKS5ThroughputRatio -v ./internal/proxy
func TestSOCKS5ThroughputRatio(t *testing.T) {
	if os.Getenv("WARREN_BENCH") == "" {
		t.Skip("set WARREN_BENCH=1")
	}
	const size = 64 << 20
	impls := []string{"warren", "reference"}
	clients := map[string]*http.Client{}
	for _, impl := range impls {
		clients[impl] = httpVia(t, startSOCKS5(t, &SOCKS5Server{Net: benchNetwork(t, impl)}), nil)
	}
	best := map[string]float64{}
	for round := range 4 {
		for _, impl := range impls {
			start := time.Now()
			resp, err := clients[impl].Get("http://10.77.0.1/bytes?n=" + strconv.Itoa(size))
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != size {
				t.Fatalf("%s: %d bytes, %v", impl, n, err)
			}
			if mbps := float64(size) * 8 / time.Since(start).Seconds() / 1e6; round > 0 && mbps > best[impl] {
				best[impl] = mbps // round 0 is the handshake and warm-up
			}
		}
	}
	t.Logf("socks5_download_mbps warren=%.0f reference=%.0f ratio=%.2f", best["warren"], best["reference"], best["warren"]/best["reference"])
}
