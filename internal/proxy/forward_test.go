package proxy

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/peerweb"
	"github.com/warren-vpn/warren/internal/testenv"
)

func startForward(t testing.TB, tun *Tunnel, fw Forward) *Forwarder {
	t.Helper()
	f := &Forwarder{Tunnel: tun, Forward: fw, Logf: t.Logf}
	ls, pcs, err := f.Listen()
	if err != nil {
		t.Fatal(err)
	}
	f.Serve(ls, pcs)
	t.Cleanup(func() { f.Close() })
	if !fw.Reverse {
		if len(ls) > 0 {
			f.Forward.Listen = ls[0].Addr().String()
		} else {
			f.Forward.Listen = pcs[0].LocalAddr().String()
		}
	}
	return f
}

// localEcho runs TCP and UDP echo servers on loopback.
func localEcho(t testing.TB) (tcp, udp string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testenv.ServeConns(t, l, testenv.Echo)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testenv.ServePackets(t, pc, testenv.EchoPackets("local:"))
	return l.Addr().String(), pc.LocalAddr().String()
}

func echoTCP(t *testing.T, c net.Conn) {
	t.Helper()
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	msg := []byte("through the forward\n")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
		t.Fatalf("echo %q, %v", got, err)
	}
}

func echoUDP(t *testing.T, c net.Conn, prefix string) {
	t.Helper()
	defer c.Close()
	buf := make([]byte, 2000)
	for try := 0; ; try++ {
		c.Write([]byte("datagram"))
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		if err == nil {
			if string(buf[:n]) != prefix+"datagram" {
				t.Fatalf("got %q", buf[:n])
			}
			return
		}
		if try == 8 {
			t.Fatal(err)
		}
	}
}

func TestForwardIntoTunnel(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	t.Run("tcp", func(t *testing.T) {
		f := startForward(t, env.tun, Forward{Listen: "127.0.0.1:0", Target: refName + ":7"})
		c, err := net.Dial("tcp", f.Forward.Listen)
		if err != nil {
			t.Fatal(err)
		}
		echoTCP(t, c)
	})
	t.Run("udp", func(t *testing.T) {
		f := startForward(t, env.tun, Forward{UDP: true, Listen: "127.0.0.1:0", Target: "[fd77::1]:7"})
		c, err := net.Dial("udp", f.Forward.Listen)
		if err != nil {
			t.Fatal(err)
		}
		echoUDP(t, c, "echo:")
	})
}

func TestForwardFromTunnel(t *testing.T) {
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	tcpAddr, udpAddr := localEcho(t)
	startForward(t, env.tun, Forward{Reverse: true, Listen: "8022", Target: tcpAddr})
	startForward(t, env.tun, Forward{Reverse: true, UDP: true, Listen: warrenV4.String() + ":5300", Target: udpAddr})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, a := range []netip.Addr{warrenV4, warrenV6} {
		t.Run("tcp "+a.String(), func(t *testing.T) {
			c, err := env.ref.net.DialContextTCPAddrPort(ctx, netip.AddrPortFrom(a, 8022))
			if err != nil {
				t.Fatal(err)
			}
			echoTCP(t, c)
		})
	}
	t.Run("udp", func(t *testing.T) {
		c, err := env.ref.net.DialUDPAddrPort(netip.AddrPort{}, netip.AddrPortFrom(warrenV4, 5300))
		if err != nil {
			t.Fatal(err)
		}
		echoUDP(t, c, "local:")
	})
}

// download fetches n bytes of the test stream with c and checks the hash.
func download(t *testing.T, c *http.Client, url string, n int64) {
	t.Helper()
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	got, err := io.Copy(h, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	d := time.Since(start)
	want := sha256.New()
	io.Copy(want, io.LimitReader(peerweb.NewStream(), n))
	if got != n || string(h.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatalf("got %d of %d bytes, or a hash mismatch", got, n)
	}
	t.Logf("%d MiB in %v (%.0f Mbit/s)", n>>20, d, float64(n)*8/d.Seconds()/1e6)
}

// TestForwardDownloads moves bulkSize() bytes (64 MiB) through a forward each way.
func TestForwardDownloads(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB transfers")
	}
	testenv.CheckGoroutines(t)
	env := newEnv(t)
	n := bulkSize()
	t.Run("into tunnel", func(t *testing.T) {
		f := startForward(t, env.tun, Forward{Listen: "127.0.0.1:0", Target: "10.77.0.1:80"})
		tr := &http.Transport{DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		download(t, &http.Client{Transport: tr}, "http://"+f.Forward.Listen+"/bytes?n="+strconv.FormatInt(n, 10), n)
	})
	t.Run("from tunnel", func(t *testing.T) {
		// A local web server, reached by the reference through warren.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(n))
			io.Copy(w, io.LimitReader(peerweb.NewStream(), n))
		})}
		go srv.Serve(l)
		defer srv.Close()
		startForward(t, env.tun, Forward{Reverse: true, Listen: "8080", Target: l.Addr().String()})
		tr := &http.Transport{DisableKeepAlives: true, DialContext: env.ref.net.DialContext}
		defer tr.CloseIdleConnections()
		download(t, &http.Client{Transport: tr}, "http://"+warrenV4.String()+":8080/", n)
	})
}
