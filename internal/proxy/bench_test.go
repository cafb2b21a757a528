package proxy

// Throughput of the SOCKS5 proxy against the same proxy code on the
// reference implementation's userspace stack (a test-only forwarder:
// refNetwork below), both downloading from a reference peer over loopback
// UDP. Run with
//
//	go test -run '^$' -bench SOCKS5Download ./internal/proxy
//
// and compare the MB/s of the warren and reference sub-benchmarks.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"testing"

	"golang.zx2c4.com/wireguard/conn"
	refdevice "golang.zx2c4.com/wireguard/device"
	refnetstack "golang.zx2c4.com/wireguard/tun/netstack"

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

func BenchmarkSOCKS5Download(b *testing.B) {
	const size = 32 << 20
	for _, impl := range []string{"warren", "reference"} {
		b.Run(impl, func(b *testing.B) {
			server := newRefPeer(b)
			server.serveHTTP(b)
			var nw Network
			if impl == "warren" {
				nw = openWarren(b, server)
			} else {
				nw = newRefClient(b, server)
			}
			addr := startSOCKS5(b, &SOCKS5Server{Net: nw})
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
