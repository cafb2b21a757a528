package proxy

// The far side of every proxy test: the reference implementation
// (golang.zx2c4.com/wireguard, test-only) on its own userspace stack,
// serving HTTP, TCP echo, UDP echo and DNS inside the tunnel.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.zx2c4.com/wireguard/conn"
	refdevice "golang.zx2c4.com/wireguard/device"
	refnetstack "golang.zx2c4.com/wireguard/tun/netstack"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/peerweb"
	"github.com/warren-vpn/warren/internal/testenv"
)

// Addresses inside the test tunnel.
var (
	refV4    = netip.MustParseAddr("10.77.0.1")
	refV6    = netip.MustParseAddr("fd77::1")
	warrenV4 = netip.MustParseAddr("10.77.0.2")
	warrenV6 = netip.MustParseAddr("fd77::2")
)

// refName is the name the reference's DNS server answers.
const refName = "web.tunnel.test"

// refPeer is a reference device on the reference's netstack.
type refPeer struct {
	dev  *refdevice.Device
	net  *refnetstack.Net
	priv noise.PrivateKey
	port uint16
}

func newRefPeer(t testing.TB) *refPeer {
	t.Helper()
	priv, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tdev, tnet, err := refnetstack.CreateNetTUN([]netip.Addr{refV4, refV6}, nil, 1420)
	if err != nil {
		t.Fatal(err)
	}
	level := refdevice.LogLevelSilent
	if os.Getenv("WARREN_TEST_LOG") != "" {
		level = refdevice.LogLevelVerbose
	}
	dev := refdevice.NewDevice(tdev, conn.NewDefaultBind(), refdevice.NewLogger(level, "ref: "))
	r := &refPeer{dev: dev, net: tnet, priv: priv}
	t.Cleanup(dev.Close)
	if err := dev.IpcSet("private_key=" + hex.EncodeToString(priv[:]) + "\nlisten_port=0\n"); err != nil {
		t.Fatal(err)
	}
	if err := dev.Up(); err != nil {
		t.Fatal(err)
	}
	get, err := dev.IpcGet()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(get) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "listen_port="); ok {
			p, _ := strconv.Atoi(v)
			r.port = uint16(p)
		}
	}
	if r.port == 0 {
		t.Fatal("reference has no listen port")
	}
	return r
}

// addPeer makes pub (at endpoint, if valid) a peer of the reference with
// warren's tunnel addresses.
func (r *refPeer) addPeer(t testing.TB, pub noise.PublicKey, endpoint netip.AddrPort) {
	t.Helper()
	s := "public_key=" + hex.EncodeToString(pub[:]) + "\nreplace_allowed_ips=true\n" +
		"allowed_ip=" + warrenV4.String() + "/32\nallowed_ip=" + warrenV6.String() + "/128\n"
	if endpoint.IsValid() {
		s += "endpoint=" + endpoint.String() + "\n"
	}
	if err := r.dev.IpcSet(s); err != nil {
		t.Fatal(err)
	}
}

// warrenConfig is a wg0.conf for warren's side, peered with r.
func (r *refPeer) warrenConfig(priv noise.PrivateKey, extra string) string {
	pub := r.priv.PublicKey()
	return fmt.Sprintf(`[Interface]
PrivateKey = %s
Address = %s/32, %s/128
DNS = %s
MTU = 1420

[Peer]
PublicKey = %s
AllowedIPs = 10.77.0.0/24, fd77::/64
Endpoint = 127.0.0.1:%d
%s`, base64.StdEncoding.EncodeToString(priv[:]), warrenV4, warrenV6, refV4, pub, r.port, extra)
}

// openWarren starts warren's side from a config text and peers the
// reference with it.
func openWarren(t testing.TB, r *refPeer) *Tunnel {
	t.Helper()
	priv, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f, err := conf.Parse("test.conf", []byte(r.warrenConfig(priv, "")), conf.Options{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	var logger *device.Logger
	if os.Getenv("WARREN_TEST_LOG") != "" {
		logger = &device.Logger{
			Verbosef: func(f string, a ...any) { t.Logf("V: "+f, a...) },
			Errorf:   func(f string, a ...any) { t.Logf("E: "+f, a...) },
		}
	}
	tun, err := OpenTunnel(context.Background(), f, TunnelOptions{Logger: logger, DialTimeout: 8 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tun.Close() })
	r.addPeer(t, priv.PublicKey(), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), tun.Dev.State().ListenPort))
	return tun
}

// serveHTTP serves on the reference's stack, port 80, both families:
// /hello (any path but /bytes) answers "hello from the reference",
// /bytes?n=N sends N bytes of peerweb's fixed stream, so the client can
// hash them.
func (r *refPeer) serveHTTP(t testing.TB) {
	t.Helper()
	listeners := make([]net.Listener, 0, 2)
	for _, a := range []netip.Addr{refV4, refV6} {
		l, err := r.net.ListenTCPAddrPort(netip.AddrPortFrom(a, 80))
		if err != nil {
			t.Fatal(err)
		}
		listeners = append(listeners, l)
	}
	serveTestHTTP(t, listeners...)
}

// serveTestHTTP serves the test web server (see serveHTTP) on ls.
func serveTestHTTP(t testing.TB, ls ...net.Listener) {
	t.Helper()
	h := peerweb.Handler(peerweb.Options{Greeting: func(req *http.Request) string {
		return fmt.Sprintf("hello from the reference, %s asked for %s", req.RemoteAddr, req.Host)
	}})
	for _, l := range ls {
		srv := &http.Server{Handler: h}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
	}
}

// serveEcho echoes TCP on port 7 and UDP on port 7 of refV4 and refV6.
func (r *refPeer) serveEcho(t testing.TB) {
	t.Helper()
	for _, a := range []netip.Addr{refV4, refV6} {
		l, err := r.net.ListenTCPAddrPort(netip.AddrPortFrom(a, 7))
		if err != nil {
			t.Fatal(err)
		}
		testenv.ServeConns(t, l, testenv.Echo)
		pc, err := r.net.ListenUDPAddrPort(netip.AddrPortFrom(a, 7))
		if err != nil {
			t.Fatal(err)
		}
		testenv.ServePackets(t, pc, testenv.EchoPackets("echo:"))
	}
}

// serveDNS answers A and AAAA queries for refName on refV4:53 (UDP).
func (r *refPeer) serveDNS(t testing.TB) {
	t.Helper()
	pc, err := r.net.ListenUDPAddrPort(netip.AddrPortFrom(refV4, 53))
	if err != nil {
		t.Fatal(err)
	}
	testenv.ServePackets(t, pc, func(q []byte, _ net.Addr) []byte { return dnsAnswer(q) })
}

func dnsAnswer(q []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return nil
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return nil
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired})
	b.EnableCompression()
	found := strings.EqualFold(qs[0].Name.String(), refName+".")
	if !found {
		b = dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RCode: dnsmessage.RCodeNameError})
	}
	b.StartQuestions()
	b.Question(qs[0])
	b.StartAnswers()
	rh := dnsmessage.ResourceHeader{Name: qs[0].Name, Class: dnsmessage.ClassINET, TTL: 60}
	if found && qs[0].Type == dnsmessage.TypeA {
		b.AResource(rh, dnsmessage.AResource{A: refV4.As4()})
	}
	if found && qs[0].Type == dnsmessage.TypeAAAA {
		b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: refV6.As16()})
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}
