//go:build windows

package bind

import (
	"net"
	"net/netip"
	"testing"
	"time"

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

// TestWindowsBindBlackhole: while a family's gate is shut, Send reports
// success but nothing leaves, and Dropped counts it; once it opens,
// datagrams flow again.
func TestWindowsBindBlackhole(t *testing.T) {
	if underWine() {
		t.Skip("wine has no UDP for Go's sockets")
	}
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	b := NewWindows()
	if _, _, err := b.Open(0); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ep, err := b.ParseEndpoint(rx.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)

	b.gate.shut(IPv4)
	if err := b.Send([][]byte{[]byte("dropped")}, ep); err != nil {
		t.Fatalf("send into the blackhole = %v, want nil", err)
	}
	rx.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, _, err := rx.ReadFromUDP(buf); err == nil {
		t.Fatalf("received %q through a shut gate", buf[:n])
	}
	if v4, v6 := b.Dropped(); v4 != 1 || v6 != 0 {
		t.Errorf("Dropped = %d, %d; want 1, 0", v4, v6)
	}

	b.gate.open(IPv4)
	if err := b.Send([][]byte{[]byte("passed")}, ep); err != nil {
		t.Fatal(err)
	}
	rx.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := rx.ReadFromUDP(buf); err != nil || string(buf[:n]) != "passed" {
		t.Fatalf("after opening: %q, %v", buf[:n], err)
	}
}
