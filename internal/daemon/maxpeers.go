package daemon

import (
	"fmt"
	"strconv"
)

// parseMaxPeers reads WARREN_MAX_PEERS: "" is the device's default (0),
// otherwise a positive count of peers.
func parseMaxPeers(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("WARREN_MAX_PEERS=%q: not a positive count of peers", v)
	}
	return n, nil
}
