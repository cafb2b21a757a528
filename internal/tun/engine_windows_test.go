//go:build windows

package tun_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/tun"
)

// TestEngineStopsOnCorruptRing: the engine reading a Wintun device whose
// ring reports ERROR_INVALID_DATA closes, rather than retrying forever,
// and the device keeps the reason for the service.
func TestEngineStopsOnCorruptRing(t *testing.T) {
	w, fail := tun.NewFailingWintun(t)
	n := netsim.New(netsim.Options{})
	defer n.Close()
	dev, err := device.New(w, n.NewBind(netip.MustParseAddr("192.0.2.1")), device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if err := dev.Up(); err != nil {
		t.Fatal(err)
	}
	fail(windows.ERROR_INVALID_DATA)
	select {
	case <-dev.Wait():
	case <-time.After(10 * time.Second):
		t.Fatal("the engine still runs on a corrupt ring")
	}
	if !errors.Is(w.Err(), tun.ErrRingCorrupt) {
		t.Errorf("device Err = %v", w.Err())
	}
}
