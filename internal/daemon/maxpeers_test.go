package daemon

import (
	"strings"
	"testing"
)

func TestParseMaxPeers(t *testing.T) {
	for v, want := range map[string]int{"": 0, "1": 1, "2000000": 2000000} {
		if n, err := parseMaxPeers(v); err != nil || n != want {
			t.Errorf("%q: %d, %v; want %d", v, n, err, want)
		}
	}
	for _, v := range []string{"0", "-1", "many", "1e6", " 5"} {
		if _, err := parseMaxPeers(v); err == nil || !strings.Contains(err.Error(), "WARREN_MAX_PEERS") {
			t.Errorf("%q: %v, want an error naming WARREN_MAX_PEERS", v, err)
		}
	}
}
