package quick

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

func mustKey(t *testing.T, s string) noise.PublicKey {
	t.Helper()
	k, err := conf.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return noise.PublicKey(k)
}

func TestHostnameEndpoints(t *testing.T) {
	f := parse(t, `[Interface]
[Peer]
PublicKey = `+testPub+`
Endpoint = vpn.example.com:51820
[Peer]
PublicKey = `+testPub2+`
Endpoint = [fd00::1]:51820
[Peer]
PublicKey = `+testPriv+`
`)
	got := HostnameEndpoints(f)
	if len(got) != 1 || got[mustKey(t, testPub)] != "vpn.example.com:51820" {
		t.Errorf("HostnameEndpoints = %v, want only vpn.example.com:51820", got)
	}
}

func TestReresolveUpdates(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	a, b, c := mustKey(t, testPub), mustKey(t, testPub2), mustKey(t, testPriv)
	old := netip.MustParseAddrPort("192.0.2.1:51820")
	fresh := netip.MustParseAddrPort("192.0.2.2:51820")
	dev := &wgtypes.Device{Peers: []wgtypes.Peer{
		{PublicKey: a, Endpoint: old},                                               // never shook hands
		{PublicKey: b, Endpoint: old, LastHandshakeTime: now.Add(-time.Minute)},     // fine
		{PublicKey: c, Endpoint: old, LastHandshakeTime: now.Add(-3 * time.Minute)}, // stale, name fails
	}}
	endpoints := map[noise.PublicKey]string{a: "a.example:51820", b: "b.example:51820", c: "c.example:51820"}
	var looked []string
	resolve := func(_ context.Context, ep string) (netip.AddrPort, error) {
		looked = append(looked, ep)
		if ep == "c.example:51820" {
			return netip.AddrPort{}, errors.New("no such host")
		}
		return fresh, nil
	}
	ups := ReresolveUpdates(context.Background(), dev, endpoints, now, resolve)
	if len(ups) != 1 || ups[0].PublicKey != a || *ups[0].Endpoint != fresh || !ups[0].UpdateOnly {
		t.Errorf("updates = %+v, want peer a to %v", ups, fresh)
	}
	if len(looked) != 2 {
		t.Errorf("looked up %v, want a and c only", looked)
	}
	// An unchanged address needs no update.
	dev.Peers[0].Endpoint = fresh
	if ups := ReresolveUpdates(context.Background(), dev, endpoints, now, resolve); len(ups) != 0 {
		t.Errorf("updates = %+v for an unchanged address", ups)
	}
}
