package selftest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/noise"
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
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s%s\n", greeting, r.RemoteAddr)
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		if err != nil || n < 0 || n > maxFetch {
			http.Error(w, "bad n", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		io.Copy(w, io.LimitReader(newStream(), n))
	})
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	for _, fam := range sp.families() {
		l, err := p.tun.Net.ListenTCP(netip.AddrPortFrom(fam.Peer, 80))
		if err != nil {
			p.close()
			return nil, fmt.Errorf("web server on %v: %w", fam.Peer, err)
		}
		go p.srv.Serve(l)
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

// stream is a deterministic byte stream (xorshift), so that both sides can
// hash a transfer without storing it.
type stream struct{ x, pos uint64 }

func newStream() *stream { return &stream{x: 0x9e3779b97f4a7c15} }

func (s *stream) Read(p []byte) (int, error) {
	for i := range p {
		if s.pos%8 == 0 {
			s.x ^= s.x << 13
			s.x ^= s.x >> 7
			s.x ^= s.x << 17
		}
		p[i] = byte(s.x >> (8 * (s.pos % 8)))
		s.pos++
	}
	return len(p), nil
}
