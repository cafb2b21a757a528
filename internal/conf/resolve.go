package conf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// DefaultRetries is how often wg retries a transient resolution failure
// when WG_ENDPOINT_RESOLUTION_RETRIES is unset.
const DefaultRetries = 15

// Resolver turns endpoints into addresses as wg does: IP literals directly,
// host names through the system resolver (first address returned),
// retrying transient failures with a growing delay (1 s, then ×1.2 up to
// 20 s). The zero value resolves without retrying.
type Resolver struct {
	// LookupNetIP resolves a host name; nil uses net.DefaultResolver.
	LookupNetIP func(ctx context.Context, host string) ([]netip.Addr, error)
	// Retries bounds the retries of transient failures; negative means
	// retry forever.
	Retries int
	// Sleep waits between retries; nil waits on a timer (or ctx).
	Sleep func(ctx context.Context, d time.Duration) error
	// Warn, if not nil, is told about each retry in wg's words.
	Warn func(msg string)
}

// resolveError wraps ErrResolve with wg's wording.
func resolveError(format string, args ...any) error {
	return &valueError{msg: fmt.Sprintf(format, args...), errs: []error{ErrResolve}}
}

// Resolve returns the address of endpoint ("host:port", "[v6]:port").
func (r *Resolver) Resolve(ctx context.Context, endpoint string) (netip.AddrPort, error) {
	host, portText, err := SplitEndpoint(endpoint)
	if err != nil {
		return netip.AddrPort{}, err
	}
	port, err := ParsePort(portText)
	if err != nil {
		return netip.AddrPort{}, resolveError("Servname not supported for ai_socktype: `%s'", endpoint)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a, err := canonicalZone(a)
		if err != nil {
			return netip.AddrPort{}, resolveError("Name or service not known: `%s'", endpoint)
		}
		return netip.AddrPortFrom(a, port), nil
	}
	lookup := r.LookupNetIP
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	sleep := r.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	retries := r.Retries
	for delay := time.Second; ; delay = min(20*time.Second, delay*6/5) {
		addrs, err := lookup(ctx, host)
		if err == nil && len(addrs) > 0 {
			return netip.AddrPortFrom(addrs[0].Unmap(), port), nil
		}
		text, transient := describeLookupError(err)
		if !transient || retries == 0 {
			return netip.AddrPort{}, resolveError("%s: `%s'", text, endpoint)
		}
		if retries > 0 {
			retries--
		}
		if r.Warn != nil {
			r.Warn(fmt.Sprintf("%s: `%s'. Trying again in %.2f seconds...", text, endpoint, delay.Seconds()))
		}
		if err := sleep(ctx, delay); err != nil {
			return netip.AddrPort{}, resolveError("%s: `%s'", errnoText(err), endpoint)
		}
	}
}

// canonicalZone checks an IPv6 scope as getaddrinfo does (a name must be
// an existing interface's) and writes it as wg passes it on after
// getnameinfo: link-local scopes by interface name when one has that index.
func canonicalZone(a netip.Addr) (netip.Addr, error) {
	z := a.Zone()
	if z == "" {
		return a, nil
	}
	if !allDigits(z) {
		if _, err := net.InterfaceByName(z); err != nil {
			return netip.Addr{}, err
		}
		return a, nil
	}
	if a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() {
		if n, err := strconv.Atoi(z); err == nil {
			if ifi, err := net.InterfaceByIndex(n); err == nil {
				return a.WithZone(ifi.Name), nil
			}
		}
	}
	return a, nil
}

// describeLookupError words a lookup failure as glibc's gai_strerror would
// and says whether retrying may help.
func describeLookupError(err error) (text string, transient bool) {
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		return "No address associated with hostname", false
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "Name or service not known", false
	case errors.As(err, &dnsErr) && (dnsErr.IsTemporary || dnsErr.IsTimeout):
		return "Temporary failure in name resolution", true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errnoText(err), false
	case errors.As(err, &dnsErr):
		return "Name or service not known", false
	}
	return errnoText(err), false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WireGuardConfig turns f into the change wg setconf (replace) or wg
// addconf (!replace) applies, resolving endpoints with r (nil: no
// retries). replace resets what the file leaves out — private key, listen
// port, fwmark — and removes peers it does not list. Each peer's allowed
// IPs replace the ones it has, in both modes, as in wg.
func (f *File) WireGuardConfig(ctx context.Context, r *Resolver, replace bool) (*wgtypes.Config, error) {
	if r == nil {
		r = &Resolver{}
	}
	in := &f.Interface
	cfg := &wgtypes.Config{ReplacePeers: replace}
	if in.PrivateKey != nil {
		k := *in.PrivateKey
		cfg.PrivateKey = &k
	} else if replace {
		cfg.PrivateKey = new(noise.PrivateKey)
	}
	if in.ListenPort != nil {
		port := *in.ListenPort
		cfg.ListenPort = &port
	} else if replace {
		cfg.ListenPort = new(uint16)
	}
	if in.FwMark != nil {
		mark := *in.FwMark
		cfg.FwMark = &mark
	} else if replace {
		cfg.FwMark = new(uint32)
	}
	for _, p := range f.Peers {
		pc := wgtypes.PeerConfig{
			PublicKey:         p.PublicKey,
			ReplaceAllowedIPs: true,
			AllowedIPs:        append([]netip.Prefix(nil), p.AllowedIPs...),
		}
		if p.PresharedKey != nil {
			k := *p.PresharedKey
			pc.PresharedKey = &k
		}
		if p.Endpoint != "" {
			ap, err := r.Resolve(ctx, p.Endpoint)
			if err != nil {
				return nil, err
			}
			pc.Endpoint = &ap
		}
		if p.PersistentKeepalive != nil {
			n := *p.PersistentKeepalive
			pc.PersistentKeepaliveInterval = &n
		}
		cfg.Peers = append(cfg.Peers, pc)
	}
	return cfg, nil
}

// Sync turns want, a replacing configuration from WireGuardConfig, into the
// smallest change that brings a device now described by have to it without
// disturbing the sessions of peers it keeps, as wg syncconf does: instead
// of replacing all peers, it removes those the file does not list, and
// clears the preshared key of kept peers that the file no longer sets (as
// current wireguard-tools do). A persistent keepalive the file leaves out
// stays as it is, as in every wg release.
func Sync(want *wgtypes.Config, have *wgtypes.Device) {
	if len(want.Peers) == 0 || len(have.Peers) == 0 {
		return
	}
	want.ReplacePeers = false
	listed := make(map[noise.PublicKey]int, len(want.Peers))
	for i, p := range want.Peers {
		listed[p.PublicKey] = i
	}
	var removals []wgtypes.PeerConfig
	for _, hp := range have.Peers {
		i, ok := listed[hp.PublicKey]
		if !ok {
			removals = append(removals, wgtypes.PeerConfig{PublicKey: hp.PublicKey, Remove: true})
			continue
		}
		wp := &want.Peers[i]
		if !hp.PresharedKey.IsZero() && wp.PresharedKey == nil {
			wp.PresharedKey = new(noise.PresharedKey)
		}
	}
	want.Peers = append(removals, want.Peers...)
}
