package metrics

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

func mustKey(t testing.TB, s string) noise.PublicKey {
	t.Helper()
	k, err := noise.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func fixed(devs ...Device) Source {
	return SourceFunc(func(context.Context) ([]Device, error) { return devs, nil })
}

// The exporter README's example, built as a snapshot, comes out label for
// label and value for value.
func TestExporterReadmeExample(t *testing.T) {
	src := fixed(Device{Name: "wg0", Peers: []Peer{
		{Name: "OnePlus 6T", Peer: wgtypes.Peer{
			PublicKey:         mustKey(t, "2S7mA0vEMethCNQrJpJKE81/JmhgtB+tHHLYQhgM6kk="),
			AllowedIPs:        prefixes("10.70.0.2/32", "10.70.0.66/32"),
			TxBytes:           3208804,
			RxBytes:           71420072,
			LastHandshakeTime: time.Unix(1562834127, 999_999_999),
		}},
		{Name: "varch.local (laptop)", Peer: wgtypes.Peer{
			PublicKey:  mustKey(t, "qnoxQoQI8KKMupLnSSureORV0wMmH7JryZNsmGVISzU="),
			AllowedIPs: prefixes("10.70.0.3/32"),
		}},
		{Peer: wgtypes.Peer{
			PublicKey:  mustKey(t, "L2UoJZN7RmEKsMmqaJgKG0m1S2Zs2wd2ptAf+kb3008="),
			AllowedIPs: prefixes("10.70.0.4/32"),
		}},
	}})
	want, err := os.Open("testdata/exporter_readme.prom")
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	compareExposition(t, gather(t, NewCollector(src, 0)), want)
}

// Several interfaces, IPv6, no allowed IPs, no handshake, names that need
// escaping or are not UTF-8.
func TestCollectorLabels(t *testing.T) {
	k1 := mustKey(t, "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=")
	k2 := mustKey(t, "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=")
	src := fixed(
		Device{Name: "wg0", Peers: []Peer{
			{Name: `al"ice\` + "\n", Peer: wgtypes.Peer{PublicKey: k1, AllowedIPs: prefixes("fd00::2/128", "10.0.0.2/32", "::1.2.3.4/128"), RxBytes: 1 << 40, TxBytes: 7, LastHandshakeTime: time.Unix(1700000000, 0)}},
			{Name: "bad\xffname", Peer: wgtypes.Peer{PublicKey: k2}},
		}},
		Device{Name: "wg1", Peers: []Peer{
			{Peer: wgtypes.Peer{PublicKey: k1, AllowedIPs: prefixes("0.0.0.0/0", "::/0"), RxBytes: 5}},
		}},
		Device{Name: "wg2"},
	)
	want := `
# HELP wireguard_sent_bytes_total Bytes sent to the peer
# TYPE wireguard_sent_bytes_total counter
wireguard_sent_bytes_total{interface="wg0",public_key="gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=",allowed_ips="fd00::2/128,10.0.0.2/32,::1.2.3.4/128",friendly_name="al\"ice\\\n"} 7
wireguard_sent_bytes_total{interface="wg0",public_key="HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=",allowed_ips="(none)",friendly_name="bad\ufffdname"} 0
wireguard_sent_bytes_total{interface="wg1",public_key="gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=",allowed_ips="0.0.0.0/0,::/0"} 0
# HELP wireguard_received_bytes_total Bytes received from the peer
# TYPE wireguard_received_bytes_total counter
wireguard_received_bytes_total{interface="wg0",public_key="gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=",allowed_ips="fd00::2/128,10.0.0.2/32,::1.2.3.4/128",friendly_name="al\"ice\\\n"} 1.099511627776e+12
wireguard_received_bytes_total{interface="wg0",public_key="HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=",allowed_ips="(none)",friendly_name="bad\ufffdname"} 0
wireguard_received_bytes_total{interface="wg1",public_key="gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=",allowed_ips="0.0.0.0/0,::/0"} 5
# HELP wireguard_latest_handshake_seconds UNIX timestamp seconds of the last handshake
# TYPE wireguard_latest_handshake_seconds gauge
wireguard_latest_handshake_seconds{interface="wg0",public_key="gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=",allowed_ips="fd00::2/128,10.0.0.2/32,::1.2.3.4/128",friendly_name="al\"ice\\\n"} 1.7e+09
wireguard_latest_handshake_seconds{interface="wg0",public_key="HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=",allowed_ips="(none)",friendly_name="bad\ufffdname"} 0
wireguard_latest_handshake_seconds{interface="wg1",public_key="gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=",allowed_ips="0.0.0.0/0,::/0"} 0
`
	want = strings.ReplaceAll(want, `\ufffd`, "\ufffd")
	compareExposition(t, gather(t, NewCollector(src, 0)), strings.NewReader(want))
	if n := testutil.CollectAndCount(NewCollector(src, 0)); n != 9 {
		t.Errorf("%d metrics, want 9 (3 per peer, none for an interface without peers)", n)
	}
}

// A source that fails fails the scrape; a slow one is cut off by the
// scrape timeout.
func TestCollectorErrors(t *testing.T) {
	boom := errors.New("boom")
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(SourceFunc(func(context.Context) ([]Device, error) { return nil, boom }), 0))
	if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("gather with a failing source: %v", err)
	}
	slow := SourceFunc(func(ctx context.Context) ([]Device, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	reg = prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(slow, 50*time.Millisecond))
	start := time.Now()
	if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("gather with a slow source: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the scrape took %v", d)
	}
}
