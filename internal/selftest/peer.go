package selftest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/peerweb"
	"github.com/warren-vpn/warren/internal/proxy"
)

// peer is the far end of the throwaway tunnel: a warren engine on a
// userspace network stack in this process, serving a web page on its
// tunnel addresses (port 80). The stack answers pings by itself.
type peer struct {
	key  noise.PrivateKey
	tun  *proxy.Tunnel
	srv  *http.Server
	port uint16
}

// greeting starts the page the peer serves at "/"; the rest of the line
// names the client address the peer saw.
const greeting = "warren selftest peer: hello over WireGuard, you are "

// startPeer starts the peer with its own fresh key, holding the addresses
// of sp's families, accepting the adapter's addresses from the adapter's
// key; the adapter's engine finds it at 127.0.0.1:port.
func startPeer(ctx context.Context, sp *spec, adapterKey noise.PublicKey, logger *device.Logger) (*peer, error) {
	key, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	p := &peer{key: key}
	f := &conf.File{Interface: conf.Interface{PrivateKey: &p.key, MTU: sp.mtu}}
	pc := conf.Peer{PublicKey: adapterKey}
	for _, fam := range sp.families() {
		f.Interface.Addresses = append(f.Interface.Addresses, netip.PrefixFrom(fam.Peer, fam.Peer.BitLen()))
		pc.AllowedIPs = append(pc.AllowedIPs, netip.PrefixFrom(fam.Local.Addr(), fam.Local.Addr().BitLen()))
	}
	f.Peers = []conf.Peer{pc}
	p.tun, err = proxy.OpenTunnel(ctx, f, proxy.TunnelOptions{Name: "selftest-peer", Logger: logger})
	if err != nil {
		return nil, err
	}
	p.port = p.tun.Dev.State().ListenPort
	if p.port == 0 {
		p.tun.Close()
		return nil, errors.New("the engine reports no UDP port")
	}
	var addrs []netip.Addr
	for _, fam := range sp.families() {
		addrs = append(addrs, fam.Peer)
	}
	p.srv, err = peerweb.Serve(p.tun.Net, addrs, peerweb.Options{
		Greeting:          func(r *http.Request) string { return greeting + r.RemoteAddr + "\n" },
		MaxBytes:          maxFetch,
		ReadHeaderTimeout: 10 * time.Second,
	})
	if err != nil {
		p.close()
		return nil, fmt.Errorf("web server: %w", err)
	}
	return p, nil
}

// handshaken reports whether the peer has completed a handshake.
func (p *peer) handshaken() bool {
	st := p.tun.Dev.State()
	return len(st.Peers) == 1 && !st.Peers[0].LastHandshakeTime.IsZero()
}

func (p *peer) close() error {
	if p == nil {
		return nil
	}
	if p.srv != nil {
		p.srv.Close()
	}
	return p.tun.Close()
}

// maxFetch bounds /bytes.
const maxFetch = 64 << 20
