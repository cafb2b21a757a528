//go:build windows

package winnet

import (
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/windows"
)

// TestWatchInterfaces registers for the system's IP interface
// notifications and lets go again.
func TestWatchInterfaces(t *testing.T) {
	w, err := WatchInterfaces()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestIPHelperMissingInterface: the system's answer for an interface that
// does not exist maps to ErrNotFound, which Configure reads as "not
// attached" (and Undo as "already gone").
func TestIPHelperMissingInterface(t *testing.T) {
	if windows.NewLazySystemDLL("iphlpapi.dll").NewProc("InitializeIpInterfaceEntry").Find() != nil {
		t.Skip("this system (wine) lacks InitializeIpInterfaceEntry")
	}
	h := newIPHelper(0x7fff_0000_0000_0001) // no such LUID
	for _, f := range families {
		if _, err := h.Interface(f); !errors.Is(err, ErrNotFound) {
			t.Errorf("Interface(%v) of a missing adapter = %v, want ErrNotFound", f, err)
		}
	}
	if err := h.DeleteAddress(netip.MustParsePrefix("10.99.0.1/32")); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteAddress on a missing adapter = %v, want ErrNotFound", err)
	}
}
