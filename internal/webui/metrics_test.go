package webui

import (
	"context"
	"testing"
	"time"
)

// The metrics server sees what the sampler read, with the peers' names.
func TestMetricsSource(t *testing.T) {
	f := newFixture(t, nil)
	conf, alice := tunnelConfig(t, "alice")
	f.m.Import("wg0", []byte(conf))
	f.m.Activate(t.Context(), "wg0")
	f.sys.SetStats("wg0", alice, 11, 22, time.Unix(1700000000, 0))
	// The latest snapshot is from before the tunnel ran; once it is
	// older than two periods the source samples afresh.
	f.clock.add(3 * time.Hour)
	devs, err := metricsSource(f.m).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || devs[0].Name != "wg0" || len(devs[0].Peers) != 1 {
		t.Fatalf("devices %+v", devs)
	}
	p := devs[0].Peers[0]
	if p.Name != "alice" || p.PublicKey != alice || p.RxBytes != 11 || p.TxBytes != 22 || !p.PresharedKey.IsZero() {
		t.Errorf("peer %+v", p)
	}
}
