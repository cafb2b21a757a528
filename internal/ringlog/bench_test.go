package ringlog

import (
	"path/filepath"
	"testing"
)

// BenchmarkWrite measures one line: its slot and the header's next number,
// two positioned writes under the lock.
func BenchmarkWrite(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "b.bin"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	for b.Loop() {
		l.Logf("TUN", "peer(%s) - Received handshake initiation", "AbCd…wXyZ")
	}
}
