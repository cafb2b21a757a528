//go:build windows

package bind

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/windows"
)

// underWine reports whether the test runs on wine, whose Winsock lacks
// what Go's UDP sockets need.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// TestWindowsBindUnpinned opens the Windows Bind, clears any interface
// pinning (which must be accepted by the stack) and exchanges a datagram
// over loopback.
func TestWindowsBindUnpinned(t *testing.T) {
	if underWine() {
		t.Skip("wine has no UDP for Go's sockets")
	}
	b := NewWindows()
	fns, port, err := b.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.BindToInterface(0, 0); err != nil {
		t.Fatalf("BindToInterface(0, 0): %v", err)
	}
	ep, err := b.ParseEndpoint(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Send([][]byte{[]byte("hello")}, ep); err != nil {
		t.Fatalf("send: %v", err)
	}
	bufs, sizes, eps := [][]byte{make([]byte, 64)}, make([]int, 1), make([]Endpoint, 1)
	n, err := fns[0](bufs, sizes, eps)
	if err != nil || n != 1 || string(bufs[0][:sizes[0]]) != "hello" {
		t.Fatalf("receive: n=%d err=%v data=%q", n, err, bufs[0][:sizes[0]])
	}
}
