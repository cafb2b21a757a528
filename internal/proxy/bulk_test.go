package proxy

import "time"

// bulkSize is the size of the tests' large transfers: 64 MiB, or 8 MiB
// under the race detector.
func bulkSize() int64 {
	if raceEnabled {
		return 8 << 20
	}
	return 64 << 20
}

// clientTimeout bounds one HTTP exchange through the proxy in tests.
func clientTimeout() time.Duration {
	if raceEnabled {
		return 120 * time.Second
	}
	return 30 * time.Second
}
