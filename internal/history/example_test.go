package history_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/warren-vpn/warren/internal/history"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// The sampler records what it read; the UI queries ranges.
func Example() {
	dir, _ := os.MkdirTemp("", "history")
	defer os.RemoveAll(dir)
	store, err := history.Open(filepath.Join(dir, "history.db"), history.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	alice := noise.PublicKey{1}
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, rx := range []uint64{5000, 6000, 9000, 400} { // the tunnel restarted before the last
		dev := &wgtypes.Device{Peers: []wgtypes.Peer{{PublicKey: alice, RxBytes: rx}}}
		if err := store.Record(start.Add(time.Duration(i)*10*time.Second), map[string]*wgtypes.Device{"wg0": dev}); err != nil {
			fmt.Println(err)
			return
		}
	}
	s, err := store.Query(history.Query{Interface: "wg0", Peer: &alice, Last: time.Hour, Now: start.Add(time.Minute)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Resolution, len(s.Points), s.RxBytes)
	// Output: 10s 360 4400
}
