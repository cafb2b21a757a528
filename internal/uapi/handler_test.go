package uapi

import (
	"net"
	"sync"
	"testing"

	"github.com/warren-vpn/warren/internal/testenv"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// serveTest serves h on the socket (or, on Windows, the pipe) name in dir
// until the test ends; at cleanup the listener is closed and Serve must
// return nil within 5 s.
func serveTest(t *testing.T, dir, name string, h Handler) net.Listener {
	t.Helper()
	l, err := Listen(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Serve(t, func() error { return Serve(l, h, t.Logf) }, l.Close)
	return l
}

// fakeHandler records what it is asked to apply and answers with a fixed state.
type fakeHandler struct {
	mu      sync.Mutex
	applied []*wgtypes.Config
	err     error // returned by Apply
	state   *wgtypes.Device
}

func (h *fakeHandler) Apply(cfg *wgtypes.Config) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.applied = append(h.applied, cfg)
	return h.err
}

func (h *fakeHandler) State() *wgtypes.Device {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}

func (h *fakeHandler) nApplied() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.applied)
}
