package uapi

import (
	"sync"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

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
