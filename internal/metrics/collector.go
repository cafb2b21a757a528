package metrics

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/warren-vpn/warren/internal/conf"
)

// The exporter's metric names and help texts, exactly.
const (
	nameSent      = "wireguard_sent_bytes_total"
	nameReceived  = "wireguard_received_bytes_total"
	nameHandshake = "wireguard_latest_handshake_seconds"

	helpSent      = "Bytes sent to the peer"
	helpReceived  = "Bytes received from the peer"
	helpHandshake = "UNIX timestamp seconds of the last handshake"
)

// noAllowedIPs is what wg's dump (and so the exporter) shows for a peer
// without allowed IPs.
const noAllowedIPs = "(none)"

// DefaultScrapeTimeout bounds one Snapshot during a scrape, like
// Prometheus' default scrape timeout.
const DefaultScrapeTimeout = 10 * time.Second

// Collector is a prometheus.Collector of the WireGuard metrics. It asks its
// Source for a snapshot on every scrape. It is unchecked (Describe sends
// nothing) because, as in the exporter, the friendly_name label is present
// only for peers that have a name.
type Collector struct {
	src     Source
	timeout time.Duration
	now     func() time.Time

	// descs[n] are the descriptors without (n=0) and with (n=1) the
	// friendly_name label.
	sent, received, handshake [2]*prometheus.Desc

	mu     sync.Mutex
	lastOK time.Time
}

// NewCollector returns a Collector reading src, each snapshot bounded by
// timeout (DefaultScrapeTimeout if 0).
func NewCollector(src Source, timeout time.Duration) *Collector {
	if timeout <= 0 {
		timeout = DefaultScrapeTimeout
	}
	c := &Collector{src: src, timeout: timeout, now: time.Now}
	labels := [2][]string{
		{"interface", "public_key", "allowed_ips"},
		{"interface", "public_key", "allowed_ips", "friendly_name"},
	}
	for i, l := range labels {
		c.sent[i] = prometheus.NewDesc(nameSent, helpSent, l, nil)
		c.received[i] = prometheus.NewDesc(nameReceived, helpReceived, l, nil)
		c.handshake[i] = prometheus.NewDesc(nameHandshake, helpHandshake, l, nil)
	}
	return c
}

// Describe implements prometheus.Collector; it describes nothing, which
// makes the Collector unchecked (see Collector).
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector: one snapshot, three metrics per
// peer. A failed snapshot becomes an invalid metric, which fails the
// scrape (as the exporter fails when wg fails).
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	devs, err := c.snapshot(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.sent[0], fmt.Errorf("read WireGuard devices: %w", err))
		return
	}
	for _, d := range devs {
		for _, p := range d.Peers {
			labels := []string{validUTF8(d.Name), p.PublicKey.String(), allowedIPs(p)}
			n := 0
			if p.Name != "" {
				labels = append(labels, validUTF8(p.Name))
				n = 1
			}
			hs := int64(0)
			if !p.LastHandshakeTime.IsZero() {
				hs = p.LastHandshakeTime.Unix()
			}
			ch <- constMetric(c.sent[n], prometheus.CounterValue, float64(p.TxBytes), labels)
			ch <- constMetric(c.received[n], prometheus.CounterValue, float64(p.RxBytes), labels)
			ch <- constMetric(c.handshake[n], prometheus.GaugeValue, float64(hs), labels)
		}
	}
}

func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}

// snapshot asks the source and notes when it last answered.
func (c *Collector) snapshot(ctx context.Context) ([]Device, error) {
	devs, err := c.src.Snapshot(ctx)
	if err == nil {
		c.mu.Lock()
		c.lastOK = c.now()
		c.mu.Unlock()
	}
	return devs, err
}

// ready reports whether the source answered within the last within; if
// not, it asks it now (bounded by the scrape timeout).
func (c *Collector) ready(ctx context.Context, within time.Duration) error {
	c.mu.Lock()
	last := c.lastOK
	c.mu.Unlock()
	if !last.IsZero() && c.now().Sub(last) < within {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err := c.snapshot(ctx)
	return err
}

// allowedIPs joins a peer's allowed IPs as wg's dump does (glibc's
// inet_ntop spelling, which conf.FormatPrefix reproduces).
func allowedIPs(p Peer) string {
	if len(p.AllowedIPs) == 0 {
		return noAllowedIPs
	}
	var b strings.Builder
	for i, a := range p.AllowedIPs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(conf.FormatPrefix(a))
	}
	return b.String()
}

// validUTF8 keeps a label value the exposition can carry: a name that is
// not UTF-8 would fail the whole scrape.
func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
