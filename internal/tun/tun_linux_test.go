package tun

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/netnstest"
	"github.com/warren-vpn/warren/internal/testenv"

	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ip", "iproute2")
	testenv.RequireTUN(t)
}

// ip runs ip(8) and fails t with its output if it fails.
func ip(t *testing.T, args ...string) string { t.Helper(); return netnstest.IP(t, args...) }

// newNetns creates a network namespace with lo up, deleted when the test ends.
func newNetns(t *testing.T) string {
	t.Helper()
	requireRoot(t)
	return netnstest.New(t, "wrn-tun-")
}

// inNetns runs fn on an OS thread switched into the namespace.
func inNetns(t *testing.T, ns string, fn func()) { t.Helper(); netnstest.Run(t, ns, fn) }

// bringUp gives wrn0 in ns the address 10.99.0.1/24, sets it up and
// waits for d to report it up.
func bringUp(t *testing.T, d Device, ns string) {
	t.Helper()
	ip(t, "-n", ns, "addr", "add", "10.99.0.1/24", "dev", "wrn0")
	ip(t, "-n", ns, "link", "set", "wrn0", "up")
	wantEvent(t, d, EventUp)
}

// socketIn is a UDP socket at 10.99.0.1 inside ns (wrn0's address, see
// bringUp), closed when the test ends.
func socketIn(t *testing.T, ns string) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	var err error
	inNetns(t, ns, func() { c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 99, 0, 1)}) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// openTUNFile opens a TUN queue named name with flags (TUNSETIFF) inside
// ns, as a parent process would before handing it down.
func openTUNFile(t *testing.T, ns, name string, flags uint16) *os.File {
	t.Helper()
	var f *os.File
	var err error
	inNetns(t, ns, func() {
		fd, e := unix.Open(cloneDevice, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if e != nil {
			err = e
			return
		}
		ifr, _ := unix.NewIfreq(name)
		ifr.SetUint16(flags)
		if err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return
		}
		f = os.NewFile(uintptr(fd), "inherited")
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// createIn creates a TUN inside namespace ns, closed when the test ends.
func createIn(t *testing.T, ns, name string, mtu int) Device {
	t.Helper()
	var d Device
	var err error
	inNetns(t, ns, func() { d, err = Create(name, mtu) })
	if err != nil {
		t.Fatalf("Create(%q, %d): %v", name, mtu, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func wantEvent(t *testing.T, d Device, want Event) {
	t.Helper()
	select {
	case e, ok := <-d.Events():
		if !ok {
			t.Fatalf("Events closed, want %v", want)
		}
		if e != want {
			t.Fatalf("event %v, want %v", e, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no event, want %v", want)
	}
}

// wantEvents waits for each event in the set want, in any order.
func wantEvents(t *testing.T, d Device, want Event) {
	t.Helper()
	for got := Event(0); got != want; {
		select {
		case e, ok := <-d.Events():
			if !ok || want&e == 0 || got&e != 0 {
				t.Fatalf("event %v (open %v) after %v, want set %v", e, ok, got, want)
			}
			got |= e
		case <-time.After(5 * time.Second):
			t.Fatalf("events %v, want set %v", got, want)
		}
	}
}

func wantNoEvent(t *testing.T, d Device) {
	t.Helper()
	select {
	case e := <-d.Events():
		t.Fatalf("unexpected event %v", e)
	case <-time.After(200 * time.Millisecond):
	}
}

func wantMTU(t *testing.T, d Device, want int) {
	t.Helper()
	got, err := d.MTU()
	if err != nil {
		t.Fatalf("MTU: %v", err)
	}
	if got != want {
		t.Fatalf("MTU = %d, want %d", got, want)
	}
}

func TestCreateSetsMTULeavesLinkDown(t *testing.T) {
	ns := newNetns(t)
	d := createIn(t, ns, "wrn0", 1420)
	if name, err := d.Name(); err != nil || name != "wrn0" {
		t.Fatalf("Name = %q, %v; want wrn0", name, err)
	}
	wantMTU(t, d, 1420)
	out := ip(t, "-n", ns, "link", "show", "wrn0")
	if !strings.Contains(out, "mtu 1420") || strings.Contains(out, ",UP") {
		t.Fatalf("ip link show: %s; want mtu 1420, down", out)
	}
	if d.BatchSize() < 1 {
		t.Errorf("BatchSize = %d", d.BatchSize())
	}
	wantNoEvent(t, d) // down at start: no EventUp
}

func TestCreateKernelPicksName(t *testing.T) {
	ns := newNetns(t)
	d := createIn(t, ns, "", 0)
	name, err := d.Name()
	if err != nil || !strings.HasPrefix(name, "tun") {
		t.Fatalf("Name = %q, %v; want tunN", name, err)
	}
}

func TestCreateBadName(t *testing.T) {
	requireRoot(t)
	if d, err := Create(strings.Repeat("x", 20), 1420); err == nil {
		d.Close()
		t.Fatal("Create with a 20-byte name succeeded")
	}
}

func TestInitialEventUp(t *testing.T) {
	ns := newNetns(t)
	d := createIn(t, ns, "wrn0", 1420)
	ip(t, "-n", ns, "link", "set", "wrn0", "up")
	wantEvent(t, d, EventUp)

	// A second handle on the same (already up) interface reports EventUp first.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	ip(t, "-n", ns, "tuntap", "add", "mode", "tun", "name", "wrn1")
	ip(t, "-n", ns, "link", "set", "wrn1", "up")
	d2 := createIn(t, ns, "wrn1", 0)
	wantEvent(t, d2, EventUp)
}

func TestLinkAndMTUEvents(t *testing.T) {
	ns := newNetns(t)
	d := createIn(t, ns, "wrn0", 1420)
	ip(t, "-n", ns, "link", "set", "wrn0", "up")
	wantEvent(t, d, EventUp)
	ip(t, "-n", ns, "link", "set", "wrn0", "mtu", "1300")
	wantEvent(t, d, EventMTUUpdate)
	wantMTU(t, d, 1300)
	ip(t, "-n", ns, "link", "set", "wrn0", "down")
	wantEvent(t, d, EventDown)
	ip(t, "-n", ns, "link", "set", "wrn0", "up")
	wantEvent(t, d, EventUp)
	ip(t, "-n", ns, "link", "set", "wrn0", "mtu", "1300") // no change, no event
	wantNoEvent(t, d)
}

func TestMoveToAnotherNetns(t *testing.T) {
	a, b := newNetns(t), newNetns(t)
	d := createIn(t, a, "wrn0", 1420)
	ip(t, "-n", a, "link", "set", "wrn0", "up")
	wantEvent(t, d, EventUp)

	ip(t, "-n", a, "link", "set", "wrn0", "netns", b)
	wantEvent(t, d, EventDown) // moving closes the link
	wantMTU(t, d, 1420)
	ip(t, "-n", b, "link", "set", "wrn0", "up")
	wantEvent(t, d, EventUp)
	ip(t, "-n", b, "link", "set", "wrn0", "mtu", "1280")
	wantEvent(t, d, EventMTUUpdate)
	wantMTU(t, d, 1280)
	ip(t, "-n", b, "addr", "add", "10.99.0.1/24", "dev", "wrn0")
	exchangeUDP(t, d, b) // packets flow in the new namespace

	// Renamed in its new home, Name follows.
	ip(t, "-n", b, "link", "set", "wrn0", "down")
	wantEvent(t, d, EventDown)
	ip(t, "-n", b, "link", "set", "wrn0", "name", "wrn-moved")
	if name, err := d.Name(); err != nil || name != "wrn-moved" {
		t.Fatalf("Name = %q, %v; want wrn-moved", name, err)
	}

	// And back again.
	ip(t, "-n", b, "link", "set", "wrn-moved", "netns", a)
	ip(t, "-n", a, "link", "set", "wrn-moved", "mtu", "1400", "up")
	wantEvents(t, d, EventUp|EventMTUUpdate)
	wantMTU(t, d, 1400)
}

func TestWriteWhileDown(t *testing.T) {
	ns := newNetns(t)
	d := createIn(t, ns, "wrn0", 1420)
	p := udp4Packet(netip.MustParseAddrPort("10.99.0.2:1"), netip.MustParseAddrPort("10.99.0.1:2"), []byte("x"))
	n, err := d.Write([][]byte{p, p, p}, 0)
	if n != 3 || !errors.Is(err, unix.EIO) {
		t.Fatalf("Write while down = %d, %v; want 3 consumed, EIO", n, err)
	}
	if errors.Is(err, os.ErrClosed) {
		t.Fatalf("Write while down = %v; the device is not closed", err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	ns := newNetns(t)
	d := createIn(t, ns, "wrn0", 1420)
	errc := make(chan error, 1)
	go func() {
		_, err := d.Read([][]byte{make([]byte, 1500)}, make([]int, 1), 0)
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Read after Close = %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked after Close")
	}
	if _, ok := <-d.Events(); ok {
		t.Error("Events not closed by Close")
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := d.Write([][]byte{make([]byte, 40)}, 0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
	if _, err := d.MTU(); err == nil {
		t.Error("MTU after Close succeeded")
	}
	if stacks := goroutines(); strings.Contains(stacks, "(*linuxDevice)") {
		t.Errorf("goroutines of the device left after Close:\n%s", stacks)
	}
}

// goroutines returns the stacks of all goroutines.
func goroutines() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

func TestDeletedInterface(t *testing.T) {
	ns := newNetns(t)
	d := createIn(t, ns, "wrn0", 1420)
	ip(t, "-n", ns, "link", "set", "wrn0", "up")
	wantEvent(t, d, EventUp)
	ip(t, "-n", ns, "link", "del", "wrn0")
	wantEvent(t, d, EventDown)
	_, err := d.Read([][]byte{make([]byte, 1500)}, make([]int, 1), 0)
	if !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read on deleted interface = %v, want os.ErrClosed", err)
	}
}

func TestCreateFromFile(t *testing.T) {
	ns := newNetns(t)
	open := func(name string, flags uint16) *os.File { return openTUNFile(t, ns, name, flags) }

	d, err := CreateFromFile(open("wrn-fd", unix.IFF_TUN|unix.IFF_NO_PI), 1380)
	if err != nil {
		t.Fatalf("CreateFromFile: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if name, _ := d.Name(); name != "wrn-fd" {
		t.Errorf("Name = %q, want wrn-fd", name)
	}
	wantMTU(t, d, 1380)
	ip(t, "-n", ns, "link", "set", "wrn-fd", "up")
	wantEvent(t, d, EventUp)

	for _, tc := range []struct {
		name  string
		flags uint16
	}{
		{"wrn-tap", unix.IFF_TAP | unix.IFF_NO_PI},
	} {
		if d, err := CreateFromFile(open(tc.name, tc.flags), 0); err == nil {
			d.Close()
			t.Errorf("CreateFromFile accepted %s (flags %#x)", tc.name, tc.flags)
		}
	}
}

func TestPacketsThroughTUN(t *testing.T) {
	ns := newNetns(t)
	d := createIn(t, ns, "wrn0", 1420)
	bringUp(t, d, ns)
	exchangeUDP(t, d, ns)
}

// exchangeUDP sends a datagram from 10.99.0.1 inside ns to 10.99.0.2, which
// the kernel routes into the TUN; reads it from d with headroom; and writes
// the answer back through d, which the socket must receive.
func exchangeUDP(t *testing.T, d Device, ns string) {
	t.Helper()
	local := netip.MustParseAddrPort("10.99.0.1:4000")
	remote := netip.MustParseAddrPort("10.99.0.2:9999")
	var c *net.UDPConn
	var err error
	inNetns(t, ns, func() { c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(local)) })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WriteToUDPAddrPort([]byte("ping"), remote); err != nil {
		t.Fatal(err)
	}

	const offset = 32
	buf := make([]byte, offset+1500)
	for i := range offset {
		buf[i] = 0xAA
	}
	var pkt []byte
	deadline := time.Now().Add(5 * time.Second)
	for pkt == nil {
		if time.Now().After(deadline) {
			t.Fatal("no UDP packet from the kernel")
		}
		sizes := make([]int, 1)
		n, err := d.Read([][]byte{buf}, sizes, offset)
		if err != nil || n != 1 {
			t.Fatalf("Read = %d, %v", n, err)
		}
		p := buf[offset : offset+sizes[0]]
		// Skip IPv6 router solicitations and the like.
		if len(p) >= 28 && p[0]>>4 == 4 && p[9] == unix.IPPROTO_UDP && netip.AddrFrom4([4]byte(p[16:20])) == remote.Addr() {
			pkt = p
		}
	}
	if !bytes.Equal(buf[:offset], bytes.Repeat([]byte{0xAA}, offset)) {
		t.Fatal("Read wrote before offset")
	}
	if string(pkt[28:]) != "ping" {
		t.Fatalf("payload %q, want ping", pkt[28:])
	}

	reply := udp4Packet(remote, local, []byte("pong"))
	wbuf := append(make([]byte, offset), reply...)
	if n, err := d.Write([][]byte{wbuf}, offset); err != nil || n != 1 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	rbuf := make([]byte, 100)
	n, from, err := c.ReadFromUDPAddrPort(rbuf)
	if err != nil {
		t.Fatalf("socket read: %v", err)
	}
	if string(rbuf[:n]) != "pong" || from != remote {
		t.Fatalf("socket got %q from %v, want pong from %v", rbuf[:n], from, remote)
	}
}

func TestReadTakesQueuedPackets(t *testing.T) {
	ns := newNetns(t)
	d := createIn(t, ns, "wrn0", 1420)
	bringUp(t, d, ns)
	c := socketIn(t, ns)
	const sent = 20
	for i := range sent {
		if _, err := c.WriteToUDPAddrPort([]byte{byte(i)}, netip.MustParseAddrPort("10.99.0.2:9")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // all queued in the TUN by now

	const offset = 16
	bufs := make([][]byte, d.BatchSize())
	for i := range bufs {
		bufs[i] = make([]byte, offset+1500)
	}
	sizes := make([]int, len(bufs))
	var udp []byte // the one-byte payloads, in order
	for len(udp) < sent {
		n, err := d.Read(bufs, sizes, offset)
		if err != nil {
			t.Fatal(err)
		}
		if len(udp) == 0 && n < sent {
			t.Errorf("first Read returned %d packets with %d queued", n, sent)
		}
		for i := range n {
			p := bufs[i][offset : offset+sizes[i]]
			if len(p) == 29 && p[0]>>4 == 4 && p[9] == unix.IPPROTO_UDP {
				udp = append(udp, p[28])
			}
		}
	}
	for i, b := range udp {
		if int(b) != i {
			t.Fatalf("payloads out of order: %v", udp)
		}
	}

	// One buffer: one packet.
	if _, err := c.WriteToUDPAddrPort([]byte{1}, netip.MustParseAddrPort("10.99.0.2:9")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToUDPAddrPort([]byte{2}, netip.MustParseAddrPort("10.99.0.2:9")); err != nil {
		t.Fatal(err)
	}
	if n, err := d.Read(bufs[:1], sizes, offset); n != 1 || err != nil {
		t.Fatalf("Read into one buffer = %d, %v", n, err)
	}
}

// udp4Packet builds an IPv4/UDP packet with valid checksums.
func udp4Packet(src, dst netip.AddrPort, payload []byte) []byte {
	p := make([]byte, 28+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8] = 64
	p[9] = unix.IPPROTO_UDP
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint16(p[10:], ^uint16(checksum(0, p[:20])))
	u := p[20:]
	binary.BigEndian.PutUint16(u[0:], src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], payload)
	pseudo := append(append(append([]byte{}, s[:]...), d[:]...), 0, unix.IPPROTO_UDP, byte(len(u)>>8), byte(len(u)))
	binary.BigEndian.PutUint16(u[6:], ^uint16(checksum(checksum(0, pseudo), u)))
	return p
}

func checksum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return sum
}

// TestRapidMoves moves the link back and forth faster than the monitor can
// follow; once things settle, the events must add up to the final state.
func TestRapidMoves(t *testing.T) {
	a, b := newNetns(t), newNetns(t)
	d := createIn(t, a, "wrn0", 1420)
	ip(t, "-n", a, "link", "set", "wrn0", "up")
	wantEvent(t, d, EventUp)
	from, to := a, b
	for range 6 {
		ip(t, "-n", from, "link", "set", "wrn0", "netns", to)
		from, to = to, from
	}
	ip(t, "-n", from, "link", "set", "wrn0", "mtu", "1300", "up")

	up := true
	for {
		select {
		case e := <-d.Events():
			switch e {
			case EventUp:
				up = true
			case EventDown:
				up = false
			}
			continue
		case <-time.After(time.Second):
		}
		break
	}
	if !up {
		t.Error("events end with the link down; it is up")
	}
	wantMTU(t, d, 1300)
	ip(t, "-n", from, "link", "set", "wrn0", "down")
	wantEvent(t, d, EventDown)
}
