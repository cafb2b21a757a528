// Package demo owns `warren demo`: in one process, as an ordinary user,
// two warren peers with fresh keys run on userspace network stacks and talk
// over loopback UDP — the handshake, a web request from one to a server
// inside the other, a transfer with its throughput, and a `wg show`-style
// status of both. It exits 0 when all of it worked, non-zero with the
// reason otherwise. It needs no root, no TUN driver and no second machine.
//
// It builds on internal/proxy's Tunnel and internal/peerweb's server and
// holds no logic of its own beyond the script.
package demo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/peerweb"
	"github.com/warren-vpn/warren/internal/proxy"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// DefaultSize is the transfer's size in MiB.
const DefaultSize = 64

// stepTimeout bounds each step of the script.
const stepTimeout = 30 * time.Second

// node is one peer of the demo.
type node struct {
	name string
	priv noise.PrivateKey
	v4   netip.Addr
	v6   netip.Addr
	tun  *proxy.Tunnel
}

// MaxSize is the largest transfer, in MiB.
const MaxSize = 1 << 14

// usageText is the help of `warren demo`; %[1]s is the program's name.
const usageText = `Usage: %[1]s [--size MIB]

Runs two WireGuard peers in this process, each on a userspace network
stack, talking over loopback UDP: the handshake, a web request from one to
a server inside the other, a transfer with its throughput, and a 'wg
show'-style status of both. No root, no TUN driver, no second machine.
Exit status 0 means all of it worked.

  --size MIB   size of the transfer, in MiB, from 1 to %[2]d (default %[3]d)

LOG_LEVEL=verbose shows the engines' log.
`

// Main runs `warren demo [--size MIB]`; args excludes the program and
// subcommand name. -h or --help prints the help on stdout; a bad command
// line is one line on stderr, saying what is wrong, then the usage line.
func Main(prog string, args []string, stdout, stderr io.Writer) int {
	size, help, err := parseArgs(args)
	if help {
		fmt.Fprintf(stdout, usageText, prog, MaxSize, DefaultSize)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\nUsage: %s [--size MIB]\n", prog, err, prog)
		return exitUsage
	}
	if err := run(stdout, int64(size)<<20); err != nil {
		fmt.Fprintf(stdout, "\nFAILED: %v\n", err)
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "\nAll steps passed: WireGuard works here without root.\n")
	return exitOK
}

// parseArgs reads [--size MIB] (also --size=MIB, and Go's single-dash
// spelling), or -h/--help.
func parseArgs(args []string) (size int, help bool, err error) {
	size = DefaultSize
	bad := func(format string, a ...any) (int, bool, error) {
		return 0, false, fmt.Errorf(format, a...)
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := strings.Cut(arg, "=")
		switch name {
		case "-h", "--help", "-help":
			return 0, true, nil
		case "--size", "-size":
			if !hasValue {
				if i+1 == len(args) {
					return bad("%s needs a value: the size of the transfer in MiB", name)
				}
				i++
				value = args[i]
			}
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > MaxSize {
				return bad("%s %q: the size of the transfer must be a whole number of MiB from 1 to %d", name, value, MaxSize)
			}
			size = n
		default:
			if strings.HasPrefix(arg, "-") {
				return bad("unknown flag %s", name)
			}
			return bad("unexpected argument %q: the demo takes none but --size MIB", arg)
		}
	}
	return size, false, nil
}

func logger(name string) *device.Logger {
	level := os.Getenv("LOG_LEVEL")
	switch level {
	case "verbose", "debug":
		level = device.LogLevelVerbose
	case "error":
	default:
		level = device.LogLevelSilent
	}
	return device.NewLogger(level, "("+name+") ")
}

func run(w io.Writer, size int64) error {
	alice := &node{name: "alice", v4: netip.MustParseAddr("10.99.0.1"), v6: netip.MustParseAddr("fd99::1")}
	bob := &node{name: "bob", v4: netip.MustParseAddr("10.99.0.2"), v6: netip.MustParseAddr("fd99::2")}
	fmt.Fprintf(w, "warren demo: two WireGuard peers in this process, each on a userspace\nnetwork stack, talking over loopback UDP.\n\n")
	for _, n := range []*node{alice, bob} {
		var err error
		if n.priv, err = noise.NewPrivateKey(rand.Reader); err != nil {
			return fmt.Errorf("generate key: %w", err)
		}
		f := &conf.File{Interface: conf.Interface{
			PrivateKey: &n.priv,
			Addresses:  []netip.Prefix{netip.PrefixFrom(n.v4, 32), netip.PrefixFrom(n.v6, 128)},
		}}
		n.tun, err = proxy.OpenTunnel(context.Background(), f, proxy.TunnelOptions{Name: n.name, Logger: logger(n.name), DialTimeout: stepTimeout})
		if err != nil {
			return fmt.Errorf("start %s: %w", n.name, err)
		}
		defer n.tun.Close()
	}
	// Each learns the other's key, tunnel addresses and UDP port.
	for _, p := range [][2]*node{{alice, bob}, {bob, alice}} {
		self, other := p[0], p[1]
		ep := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), other.tun.Dev.State().ListenPort)
		err := self.tun.Dev.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{{
			PublicKey:  other.priv.PublicKey(),
			Endpoint:   &ep,
			AllowedIPs: []netip.Prefix{netip.PrefixFrom(other.v4, 32), netip.PrefixFrom(other.v6, 128)},
		}}})
		if err != nil {
			return fmt.Errorf("configure %s: %w", self.name, err)
		}
	}
	for _, n := range []*node{alice, bob} {
		fmt.Fprintf(w, "  %-5s  %s, %s  UDP 127.0.0.1:%d  public key %s\n", n.name, n.v4, n.v6, n.tun.Dev.State().ListenPort, n.priv.PublicKey())
	}
	fmt.Fprintln(w)

	if err := stepHandshake(w, alice, bob); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	srv, err := serve(bob)
	if err != nil {
		return fmt.Errorf("web server in bob: %w", err)
	}
	defer srv.Close()
	client := &http.Client{
		Transport: &http.Transport{DialContext: alice.tun.DialContext, DisableCompression: true},
		Timeout:   stepTimeout,
	}
	defer client.CloseIdleConnections()
	if err := stepRequest(w, client, bob); err != nil {
		return fmt.Errorf("web request: %w", err)
	}
	if err := stepTransfer(w, client, bob, size); err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	fmt.Fprintf(w, "[4/4] status of both peers:\n\n")
	for _, n := range []*node{alice, bob} {
		printStatus(w, n.name, n.tun.Dev.State())
	}
	return nil
}

// stepHandshake sends one datagram from alice to bob, which starts the
// handshake, and waits until both sides have completed it.
func stepHandshake(w io.Writer, alice, bob *node) error {
	start := time.Now()
	c, err := alice.tun.Net.DialUDP(netip.AddrPortFrom(bob.v4, 9))
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := start.Add(stepTimeout)
	for {
		c.Write([]byte("knock"))
		if done(alice) && done(bob) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not completed within %v (is UDP on 127.0.0.1 blocked?)", stepTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Fprintf(w, "[1/4] handshake ........ ok, both sides in %v\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func done(n *node) bool {
	st := n.tun.Dev.State()
	return len(st.Peers) == 1 && !st.Peers[0].LastHandshakeTime.IsZero()
}

// serve runs bob's web server on his tunnel addresses, port 80.
func serve(bob *node) (*http.Server, error) {
	return peerweb.Serve(bob.tun.Net, []netip.Addr{bob.v4, bob.v6}, peerweb.Options{
		Greeting: func(r *http.Request) string {
			return fmt.Sprintf("hello from bob, over WireGuard (you are %s)\n", r.RemoteAddr)
		},
		ReadHeaderTimeout: stepTimeout,
	})
}

func stepRequest(w io.Writer, c *http.Client, bob *node) error {
	url := "http://" + bob.v4.String() + "/"
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "hello from bob") {
		return fmt.Errorf("GET %s: %s %q", url, resp.Status, body)
	}
	fmt.Fprintf(w, "[2/4] web request ...... ok, alice: GET %s -> %s in %v\n", url, resp.Status, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(w, "                         bob says: %s", body)
	return nil
}

func stepTransfer(w io.Writer, c *http.Client, bob *node, size int64) error {
	url := "http://[" + bob.v6.String() + "]/bytes?n=" + strconv.FormatInt(size, 10)
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		return fmt.Errorf("after %d bytes: %w", n, err)
	}
	d := time.Since(start)
	want := sha256.New()
	io.Copy(want, io.LimitReader(peerweb.NewStream(), size))
	if n != size || string(h.Sum(nil)) != string(want.Sum(nil)) {
		return fmt.Errorf("received %d of %d bytes, or they differ from what bob sent", n, size)
	}
	fmt.Fprintf(w, "[3/4] transfer ......... ok, %d MiB from bob to alice over IPv6 in %v: %.0f Mbit/s, SHA-256 matches\n",
		size>>20, d.Round(time.Millisecond), float64(size)*8/d.Seconds()/1e6)
	return nil
}

// printStatus writes d the way `wg show` does, without colour.
func printStatus(w io.Writer, name string, d *wgtypes.Device) {
	fmt.Fprintf(w, "interface: %s\n  public key: %s\n  private key: (hidden)\n  listening port: %d\n", name, d.PublicKey, d.ListenPort)
	for _, p := range d.Peers {
		fmt.Fprintf(w, "\npeer: %s\n", p.PublicKey)
		if p.Endpoint.IsValid() {
			fmt.Fprintf(w, "  endpoint: %s\n", p.Endpoint)
		}
		ips := make([]string, len(p.AllowedIPs))
		for i, a := range p.AllowedIPs {
			ips[i] = a.String()
		}
		fmt.Fprintf(w, "  allowed ips: %s\n", strings.Join(ips, ", "))
		if !p.LastHandshakeTime.IsZero() {
			fmt.Fprintf(w, "  latest handshake: %s\n", ago(time.Since(p.LastHandshakeTime)))
		}
		fmt.Fprintf(w, "  transfer: %s received, %s sent\n", bytesText(p.RxBytes), bytesText(p.TxBytes))
	}
	fmt.Fprintln(w)
}

func ago(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s <= 0:
		return "Now"
	case s == 1:
		return "1 second ago"
	case s < 60:
		return fmt.Sprintf("%d seconds ago", s)
	}
	return d.Round(time.Second).String() + " ago"
}

// bytesText formats like wg: B, KiB, MiB, GiB with two decimals.
func bytesText(b uint64) string {
	switch {
	case b < 1024:
		return fmt.Sprintf("%d B", b)
	case b < 1<<20:
		return fmt.Sprintf("%.2f KiB", float64(b)/(1<<10))
	case b < 1<<30:
		return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
}
