package metrics_test

import (
	"context"
	"log"

	"github.com/warren-vpn/warren/internal/metrics"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// The manager hands the server a source that returns the devices it
// sampled last (with the peers' names) and serves until it stops.
func Example() {
	latest := func(ctx context.Context) ([]metrics.Device, error) {
		return []metrics.Device{{Name: "wg0", Peers: []metrics.Peer{{Peer: wgtypes.Peer{RxBytes: 1}, Name: "alice"}}}}, nil
	}
	srv, err := metrics.New(metrics.SourceFunc(latest), metrics.Options{
		Addr:      "0.0.0.0:9586",
		TokenFile: "/etc/warren/metrics.token", // required: the address is not loopback
		Logf:      log.Printf,
	})
	if err != nil {
		log.Fatal(err) // e.g. ErrTokenRequired, ErrBadToken
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Print(err)
	}
}
