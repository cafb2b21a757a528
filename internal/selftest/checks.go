package selftest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/peerweb"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// Check names, in the order they run.
const (
	chkAddrs      = "throwaway addresses"
	chkDriver     = "adapter driver"
	chkPeer       = "in-process peer"
	chkAdapter    = "adapter and engine"
	chkOSAddrs    = "addresses (as the OS sees)"
	chkRoutes     = "routes (as the OS sees)"
	chkMTU        = "MTU (as the OS sees)"
	chkHandshake  = "handshake"
	chkPing4      = "ping IPv4"
	chkPing6      = "ping IPv6"
	chkPingMTU4   = "ping IPv4, full MTU, DF"
	chkPingMTU6   = "ping IPv6, full MTU"
	chkHTTP4      = "HTTP over IPv4"
	chkHTTP6      = "HTTP over IPv6"
	chkKillSwitch = "kill switch rules (WFP)"
	chkKSPing     = "ping IPv4, kill switch on"
	chkKSHTTP     = "HTTP IPv4, kill switch on"
	chkKSOff      = "kill switch removed"
	chkCleanup    = "cleanup"
)

// Time limits of the checks.
const (
	stepTimeout      = 15 * time.Second
	handshakeTimeout = 15 * time.Second // three initiations (REKEY_TIMEOUT 5 s)
	pingTimeout      = 5 * time.Second
	httpTimeout      = 20 * time.Second
	cleanupTimeout   = 20 * time.Second
	// fetchSize is the download that exercises offloads and full-size
	// segments.
	fetchSize = 1 << 20
	// pingPayload is ping(8)'s default.
	pingPayload = 56
)

// script runs the checks in order. Whatever it creates it removes before
// returning, and it records that as the last check.
func script(r *runner, h host, opts Options, rnd io.Reader) {
	sp := &spec{mtu: MTU}
	r.check(chkAddrs, nil, stepTimeout, func(ctx context.Context) (string, error) {
		used, err := h.usedPrefixes()
		if err != nil {
			return "", fmt.Errorf("read this machine's routes and addresses: %w", err)
		}
		sp.v4, sp.v6 = pickAddresses(used, rnd)
		if !sp.v4.OK() && !sp.v6.OK() {
			return "", errors.Join(sp.v4.Err, sp.v6.Err)
		}
		var lines []string
		for _, f := range []family{sp.v4, sp.v6} {
			if f.OK() {
				lines = append(lines, fmt.Sprintf("%v (%s): adapter %v, peer %v", f.Subnet, f.From, f.Local.Addr(), f.Peer))
			} else {
				lines = append(lines, f.Err.Error())
			}
		}
		return strings.Join(lines, "\n") + fmt.Sprintf("\nnone of the %d routes and addresses where the adapter goes overlaps them", len(used)), nil
	})
	r.check(chkDriver, []string{chkAddrs}, stepTimeout, func(ctx context.Context) (string, error) {
		detail, facts, err := h.driver()
		for _, f := range facts {
			r.rep.fact(f.Name, "%s", f.Value)
		}
		return detail, err
	})

	var p *peer
	var ad adapter
	defer func() { cleanup(r, ad, p) }()
	r.check(chkPeer, []string{chkDriver}, stepTimeout, func(ctx context.Context) (string, error) {
		var err error
		if sp.key, err = noise.NewPrivateKey(rnd); err != nil {
			return "", err
		}
		if p, err = startPeer(ctx, sp, sp.key.PublicKey(), opts.Logger); err != nil {
			return "", err
		}
		sp.peerKey = p.key.PublicKey()
		sp.endpoint = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), p.port)
		return fmt.Sprintf("warren on a userspace network stack, WireGuard on UDP %v", sp.endpoint), nil
	})
	r.check(chkAdapter, []string{chkPeer}, stepTimeout, func(ctx context.Context) (string, error) {
		a, err := h.up(ctx, sp, opts.Logger)
		if err != nil {
			return "", err
		}
		ad = a
		for _, f := range ad.facts() {
			r.rep.fact(f.Name, "%s", f.Value)
		}
		r.rep.fact("MTU", "%d (the throwaway tunnel's)", sp.mtu)
		if opts.afterUp != nil {
			if err := opts.afterUp(ad); err != nil {
				return "", fmt.Errorf("test hook: %w", err)
			}
		}
		return fmt.Sprintf("%s created; its engine is up, WireGuard on UDP port %d, peer at %v",
			ad.name(), ad.device().State().ListenPort, sp.endpoint), nil
	})

	// The families the adapter carries: a family without a throwaway
	// subnet, or that the OS does not run on the adapter, is skipped.
	famErr := func(f family) error {
		if !f.OK() {
			return skip(fmt.Errorf("%w: %w", ErrFamily, f.Err))
		}
		if f.Peer.Is6() && ad != nil {
			if err := ad.ipv6(); err != nil {
				return skip(fmt.Errorf("%w: %w", ErrFamily, err))
			}
		}
		return nil
	}

	up := []string{chkAdapter}
	r.check(chkOSAddrs, up, stepTimeout, func(ctx context.Context) (string, error) {
		got, err := ad.addresses()
		if err != nil {
			return "", err
		}
		var missing []string
		for _, f := range []family{sp.v4, sp.v6} {
			if famErr(f) == nil && !slices.Contains(got, f.Local) {
				missing = append(missing, f.Local.String())
			}
		}
		if len(missing) > 0 {
			return "", fmt.Errorf("the OS does not report %s on %s; it reports: %s", strings.Join(missing, ", "), ad.name(), prefixList(got))
		}
		return fmt.Sprintf("%s has %s", ad.name(), prefixList(got)), nil
	})
	r.check(chkRoutes, up, stepTimeout, func(ctx context.Context) (string, error) {
		var seen, wrong []string
		for _, f := range []family{sp.v4, sp.v6} {
			if famErr(f) != nil {
				continue
			}
			via, err := ad.routeVia(f.Peer)
			switch {
			case err != nil:
				wrong = append(wrong, err.Error())
			case via != ad.name():
				wrong = append(wrong, fmt.Sprintf("the OS routes %v through %q, not %s", f.Peer, via, ad.name()))
			default:
				seen = append(seen, f.Peer.String())
			}
		}
		if len(wrong) > 0 {
			return "", errors.New(strings.Join(wrong, "; "))
		}
		return fmt.Sprintf("the OS routes %s through %s", strings.Join(seen, " and "), ad.name()), nil
	})
	r.check(chkMTU, up, stepTimeout, func(ctx context.Context) (string, error) {
		m, err := ad.mtu()
		if err != nil {
			return "", err
		}
		if m != sp.mtu {
			return "", fmt.Errorf("the OS reports MTU %d on %s, the tunnel set %d", m, ad.name(), sp.mtu)
		}
		return fmt.Sprintf("%d on %s", m, ad.name()), nil
	})
	r.check(chkHandshake, up, handshakeTimeout, func(ctx context.Context) (string, error) {
		return handshake(ctx, ad, p, sp)
	})

	ran := []string{chkHandshake}
	pingCheck := func(name string, f family, payload int, df bool) {
		r.check(name, ran, pingTimeout, func(ctx context.Context) (string, error) {
			if err := famErr(f); err != nil {
				return "", err
			}
			rtt, err := ad.ping(ctx, f.Peer, payload, df)
			if err != nil {
				return "", fmt.Errorf("%d-byte echo to %v: %w", payload, f.Peer, err)
			}
			return fmt.Sprintf("%d-byte echo to %v answered in %v", payload, f.Peer, rtt.Round(10*time.Microsecond)), nil
		})
	}
	pingCheck(chkPing4, sp.v4, pingPayload, false)
	pingCheck(chkPing6, sp.v6, pingPayload, false)
	pingCheck(chkPingMTU4, sp.v4, sp.mtu-20-8, true)
	pingCheck(chkPingMTU6, sp.v6, sp.mtu-40-8, true)
	httpCheck := func(name string, f family) {
		r.check(name, ran, httpTimeout, func(ctx context.Context) (string, error) {
			if err := famErr(f); err != nil {
				return "", err
			}
			return fetch(ctx, ad, f)
		})
	}
	httpCheck(chkHTTP4, sp.v4)
	httpCheck(chkHTTP6, sp.v6)

	if ad != nil && ad.killSwitch() != nil {
		killSwitchChecks(r, ad, sp, opts)
	}
}

// killSwitchChecks engages the kill switch (if asked), compares its rules
// as read back with the plan, checks the tunnel still works under it, and
// removes it.
func killSwitchChecks(r *runner, ad adapter, sp *spec, opts Options) {
	ks := ad.killSwitch()
	if !opts.KillSwitch {
		r.check(chkKillSwitch, nil, stepTimeout, func(ctx context.Context) (string, error) {
			return "", skip(fmt.Errorf("%w: run with --kill-switch to engage it and compare its firewall rules with the plan (it blocks every other connection of this machine for the seconds the test takes)", ErrNotEngaged))
		})
		return
	}
	engaged := false
	// Whatever happens below, the switch goes before the adapter does.
	defer ks.disengage()
	r.check(chkKillSwitch, []string{chkHandshake}, stepTimeout, func(ctx context.Context) (string, error) {
		planned, err := ks.engage()
		if err != nil {
			return "", fmt.Errorf("engage: %w", err)
		}
		engaged = true
		installed, rerr := ks.installed()
		if rerr != nil && len(installed) == 0 {
			return "", fmt.Errorf("read the filters back: %w", rerr)
		}
		var errs []error
		if diff := compareRules(planned, installed); len(diff) > 0 {
			errs = append(errs, fmt.Errorf("the installed filters differ from the plan (%d planned, %d read back):\n%s", len(planned), len(installed), strings.Join(diff, "\n")))
		}
		if rerr != nil {
			errs = append(errs, fmt.Errorf("filters that could not be read back: %w", rerr))
		}
		if err := errors.Join(errs...); err != nil {
			return "", err
		}
		return fmt.Sprintf("all %d filters read back from the firewall match the plan", len(planned)), nil
	})
	f := sp.v4
	notEngaged := skip(fmt.Errorf("%w: engaging it failed", ErrNotEngaged))
	r.check(chkKSPing, []string{chkPing4}, pingTimeout, func(ctx context.Context) (string, error) {
		if !engaged {
			return "", notEngaged
		}
		rtt, err := ad.ping(ctx, f.Peer, pingPayload, false)
		if err != nil {
			return "", fmt.Errorf("echo to %v with the kill switch on: %w", f.Peer, err)
		}
		// warren's own process passes the switch anyway (that is how its
		// encrypted UDP leaves): this shows the switch does not break the
		// tunnel, not that it blocks others.
		return fmt.Sprintf("echo to %v answered in %v", f.Peer, rtt.Round(10*time.Microsecond)), nil
	})
	r.check(chkKSHTTP, []string{chkHTTP4}, httpTimeout, func(ctx context.Context) (string, error) {
		if !engaged {
			return "", notEngaged
		}
		return fetch(ctx, ad, f)
	})
	if !engaged {
		return
	}
	r.check(chkKSOff, nil, stepTimeout, func(ctx context.Context) (string, error) {
		if err := ks.disengage(); err != nil {
			return "", err
		}
		left, err := ks.installed()
		if err != nil {
			return "", fmt.Errorf("read the filters back: %w", err)
		}
		if len(left) > 0 {
			return "", fmt.Errorf("%d filters are still installed after removal, e.g. %v", len(left), left[0])
		}
		return "no filter of the tunnel is left", nil
	})
}

// cleanup closes the adapter (which removes it with its addresses and
// routes) and the peer, checks that the OS has no trace of the adapter,
// and records the outcome. It runs even when the run was interrupted.
func cleanup(r *runner, ad adapter, p *peer) {
	if ad == nil && p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), cleanupTimeout)
	defer cancel()
	c := Check{Name: chkCleanup}
	start := time.Now()
	var errs []error
	var done []string
	if ad != nil {
		name := ad.name()
		if err := ad.close(); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", name, err))
		} else if err := ad.gone(); err != nil {
			errs = append(errs, err)
		} else {
			done = append(done, fmt.Sprintf("%s removed with its addresses and routes", name))
		}
	}
	if p != nil {
		if err := p.close(); err != nil {
			errs = append(errs, fmt.Errorf("stop the peer: %w", err))
		} else {
			done = append(done, "peer stopped")
		}
	}
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("took longer than %v", cleanupTimeout))
	}
	c.Took = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		c.Status, c.Err, c.Detail = Fail, err, err.Error()
	} else {
		c.Status, c.Detail = Pass, strings.Join(done, "; ")
	}
	r.record(c)
}

// handshake sends datagrams from the OS's stack to the peer, over every
// family the OS lets it, until both engines report a completed handshake.
func handshake(ctx context.Context, ad adapter, p *peer, sp *spec) (string, error) {
	start := time.Now()
	var conns []net.Conn
	var dsts, refused []string
	for _, f := range sp.families() {
		dst := netip.AddrPortFrom(f.Peer, 9) // discard
		c, err := ad.dial(ctx, "udp", dst.String())
		if err != nil {
			refused = append(refused, fmt.Sprintf("%v: %v", dst, err))
			continue
		}
		defer c.Close()
		conns = append(conns, c)
		dsts = append(dsts, dst.String())
	}
	if len(conns) == 0 {
		return "", fmt.Errorf("the OS would not send to the peer: %s", strings.Join(refused, "; "))
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, c := range conns {
			c.Write([]byte("warren selftest knock"))
		}
		st := ad.device().State()
		if len(st.Peers) == 1 && !st.Peers[0].LastHandshakeTime.IsZero() && p.handshaken() {
			return fmt.Sprintf("completed in %v (datagrams from the OS to %s started it)", time.Since(start).Round(time.Millisecond), strings.Join(dsts, " and ")), nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no handshake within %v: the adapter's engine sent %d bytes and received %d from %v",
				time.Since(start).Round(time.Second), peerTx(st), peerRx(st), sp.endpoint)
		case <-tick.C:
		}
	}
}

// peerTx and peerRx are the adapter engine's byte counts with its peer.
func peerTx(st *wgtypes.Device) uint64 {
	if len(st.Peers) == 0 {
		return 0
	}
	return st.Peers[0].TxBytes
}

func peerRx(st *wgtypes.Device) uint64 {
	if len(st.Peers) == 0 {
		return 0
	}
	return st.Peers[0].RxBytes
}

// fetch gets "/" and fetchSize bytes from the peer's web server over f
// through the OS's TCP, and checks what the peer saw and what came back.
func fetch(ctx context.Context, ad adapter, f family) (string, error) {
	client := &http.Client{Transport: &http.Transport{
		DialContext:        ad.dial,
		DisableCompression: true,
		Proxy:              nil, // never a proxy from the environment
	}}
	defer client.CloseIdleConnections()
	base := "http://" + netip.AddrPortFrom(f.Peer, 80).String()
	body, err := get(ctx, client, base+"/", 4096)
	if err != nil {
		return "", err
	}
	line := strings.TrimSpace(string(body))
	seen, ok := strings.CutPrefix(line, greeting)
	if !ok {
		return "", fmt.Errorf("GET %s/: unexpected page %q", base, line)
	}
	from, err := netip.ParseAddrPort(seen)
	if err != nil || from.Addr().Unmap() != f.Local.Addr() {
		return "", fmt.Errorf("GET %s/: the peer saw the request come from %s, not from the adapter's address %v", base, seen, f.Local.Addr())
	}
	start := time.Now()
	data, err := get(ctx, client, fmt.Sprintf("%s/bytes?n=%d", base, fetchSize), fetchSize+1)
	if err != nil {
		return "", err
	}
	d := time.Since(start)
	want := sha256.New()
	io.Copy(want, io.LimitReader(peerweb.NewStream(), fetchSize))
	if got := sha256.Sum256(data); len(data) != fetchSize || !bytes.Equal(got[:], want.Sum(nil)) {
		return "", fmt.Errorf("GET %s/bytes: %d bytes arrived, want %d, or they differ from what the peer sent", base, len(data), fetchSize)
	}
	return fmt.Sprintf("GET %s/ (the peer saw it come from %v), then %d KiB in %v, SHA-256 intact",
		base, from.Addr(), fetchSize>>10, d.Round(time.Millisecond)), nil
}

// get fetches url, reading at most limit bytes of the body.
func get(ctx context.Context, c *http.Client, target string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("GET %s: no answer: %w", target, err)
		}
		return nil, fmt.Errorf("GET %s: %w", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("GET %s: after %d bytes: %w", target, len(body), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", target, resp.Status)
	}
	return body, nil
}

// prefixList renders prefixes for a report line.
func prefixList(ps []netip.Prefix) string {
	if len(ps) == 0 {
		return "no addresses"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
