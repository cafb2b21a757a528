//go:build !linux && !windows

package selftest

import (
	"fmt"
	"runtime"
)

// newHost fails: there is no adapter for this platform yet.
func newHost(Options) (host, error) {
	return nil, fmt.Errorf("%w (%s): it needs a TUN adapter, which warren has on Linux and Windows", ErrUnsupported, runtime.GOOS)
}
