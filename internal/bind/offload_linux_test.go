package bind

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

// datagrams returns n datagrams of size bytes (the last one tail bytes if
// tail > 0), each filled with its index.
func datagrams(n, size, tail int) [][]byte {
	var out [][]byte
	for i := range n {
		l := size
		if i == n-1 && tail > 0 {
			l = tail
		}
		out = append(out, bytes.Repeat([]byte{byte(i)}, l))
	}
	return out
}

func TestPrepareMergesRuns(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bufs  [][]byte
		gso   bool
		wants []int // datagrams per message
	}{
		{"same size", datagrams(10, 1000, 0), true, []int{10}},
		{"short tail", datagrams(10, 1000, 300), true, []int{10}},
		{"no gso", datagrams(3, 1000, 0), false, []int{1, 1, 1}},
		{"larger breaks", append(datagrams(3, 500, 0), datagrams(2, 900, 0)...), true, []int{3, 2}},
		{"shorter ends run", append(datagrams(3, 500, 200), datagrams(2, 500, 0)...), true, []int{3, 2}},
		{"segment limit", datagrams(maxGSOSegments+5, 100, 0), true, []int{maxGSOSegments, 5}},
		{"byte limit", datagrams(50, 1400, 0), true, []int{maxGSOBytes / 1400, 50 - maxGSOBytes/1400}},
		{"batch limit", datagrams(linuxBatchSize+3, 100, 0), false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mb := newMmsgBatch().(*mmsgBatch)
			msgs, used := mb.prepare(tc.bufs, 16, netip.MustParseAddr("10.0.0.1"), 0, tc.gso)
			if tc.wants == nil {
				if msgs != linuxBatchSize || used != linuxBatchSize {
					t.Fatalf("prepared %d messages of %d datagrams, want %d", msgs, used, linuxBatchSize)
				}
				return
			}
			if got := fmt.Sprint(mb.segs[:msgs]); got != fmt.Sprint(tc.wants) || used != len(tc.bufs) {
				t.Fatalf("messages %s holding %d datagrams, want %v holding %d", got, used, tc.wants, len(tc.bufs))
			}
		})
	}
}

// listenLoopback opens b on an ephemeral port and returns its receive
// functions and its IPv4 loopback endpoint.
func listenLoopback(t *testing.T, b Bind) ([]ReceiveFunc, netip.AddrPort) {
	t.Helper()
	fns, port, err := b.Open(0)
	if err != nil {
		t.Skipf("no UDP sockets: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return fns, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
}

func TestGSOSendToPlainSocket(t *testing.T) {
	b := NewStd().(*linuxBind)
	listenLoopback(t, b)
	if !b.v4.gso.Load() {
		t.Skip("kernel without UDP_SEGMENT")
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadBuffer(1 << 20)
	want := datagrams(20, 1200, 77)
	ep, err := b.ParseEndpoint(c.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Send(want, ep); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1<<16)
	for i, w := range want {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], w) {
			t.Fatalf("datagram %d: %d bytes of %d, want %d of %d", i, n, buf[0], len(w), w[0])
		}
	}
	if !b.v4.gso.Load() {
		t.Error("GSO turned itself off on loopback")
	}
}

// TestGSOFallback sends datagrams larger than the path MTU: the kernel
// refuses to segment them (EINVAL), and the bind must send them one by one
// (fragmented) and stop using GSO.
func TestGSOFallback(t *testing.T) {
	ns := newNetns(t)
	ip(t, "-n", ns, "link", "set", "lo", "mtu", "1280")
	var b *linuxBind
	var c *net.UDPConn
	var err error
	inNetns(t, ns, func() {
		b = NewStd().(*linuxBind)
		if _, _, err = b.Open(0); err != nil {
			return
		}
		c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	defer c.Close()
	if !b.v4.gso.Load() {
		t.Skip("kernel without UDP_SEGMENT")
	}
	ep, _ := b.ParseEndpoint(c.LocalAddr().String())
	want := datagrams(4, 1400, 0)
	if err := b.Send(want, ep); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if b.v4.gso.Load() {
		t.Error("GSO still on after the kernel refused it")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1<<16)
	for i, w := range want {
		n, err := c.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], w) {
			t.Fatalf("datagram %d: %d bytes, %v", i, n, err)
		}
	}
}

// TestGROReceiveSplits sends runs with GSO to a bind with UDP_GRO on
// loopback, where the kernel delivers each run as one message: the receive
// function must hand out the datagrams one by one, in order, also when
// they do not fit the buffers of one call.
func TestGROReceiveSplits(t *testing.T) {
	for _, nbufs := range []int{128, 7, 1} {
		t.Run(fmt.Sprint(nbufs, " buffers"), func(t *testing.T) {
			snd := NewStd().(*linuxBind)
			listenLoopback(t, snd)
			rcv := NewStd().(*linuxBind)
			fns, dst := listenLoopback(t, rcv)
			if !snd.v4.gso.Load() || !rcv.v4.gro.Load() {
				t.Skip("kernel without UDP_SEGMENT or UDP_GRO")
			}
			ep, _ := snd.ParseEndpoint(dst.String())
			var want [][]byte
			for run := range 4 {
				d := datagrams(30, 1000+run, 500)
				for i := range d {
					d[i][0] = byte(len(want) + i)
				}
				want = append(want, d...)
				if err := snd.Send(d, ep); err != nil {
					t.Fatal(err)
				}
			}
			bufs := make([][]byte, nbufs)
			for i := range bufs {
				bufs[i] = make([]byte, 1<<16)
			}
			sizes := make([]int, nbufs)
			eps := make([]Endpoint, nbufs)
			var recv4 ReceiveFunc
			for _, fn := range fns {
				recv4 = fn // the IPv4 socket's comes first
				break
			}
			got := 0
			merged := false
			own := append([][]byte(nil), bufs...)
			for got < len(want) {
				copy(bufs, own) // the receive may have repointed them
				n, err := recv4(bufs, sizes, eps)
				if err != nil {
					t.Fatal(err)
				}
				for i := range n {
					if !bytes.Equal(bufs[i][:sizes[i]], want[got]) {
						t.Fatalf("datagram %d: %d bytes starting %d, want %d starting %d", got, sizes[i], bufs[i][0], len(want[got]), want[got][0])
					}
					if eps[i].DstAddrPort().Port() == 0 {
						t.Fatalf("datagram %d: no endpoint", got)
					}
					got++
				}
				if rcv.v4.maxSegs > 1 {
					merged = true
					// The run's datagrams were handed out in place (when
					// they fit: the spill of a small call copies).
					inPlace := nbufs < 128
					for i := range n {
						inPlace = inPlace || cap(bufs[i]) != 1<<16
					}
					if !inPlace {
						t.Error("a merged run was copied out instead of handed out in place")
					}
				}
			}
			if !merged {
				t.Error("no merged run received: the split was not exercised")
			}
		})
	}
}

// TestGROSmallBuffers checks that a receive with buffers too small for a
// merged run still gets every datagram.
func TestGROSmallBuffers(t *testing.T) {
	snd := NewStd().(*linuxBind)
	listenLoopback(t, snd)
	rcv := NewStd().(*linuxBind)
	fns, dst := listenLoopback(t, rcv)
	if !rcv.v4.gro.Load() {
		t.Skip("kernel without UDP_GRO")
	}
	ep, _ := snd.ParseEndpoint(dst.String())
	bufs := [][]byte{make([]byte, 1500), make([]byte, 1500)}
	sizes, eps := make([]int, 2), make([]Endpoint, 2)
	done := make(chan error, 1)
	go func() {
		got := 0
		for got < 20 {
			n, err := fns[0](bufs, sizes, eps)
			if err != nil {
				done <- err
				return
			}
			for i := range n {
				if sizes[i] != 1000 {
					done <- fmt.Errorf("datagram of %d bytes, want 1000", sizes[i])
					return
				}
			}
			got += n
		}
		done <- nil
	}()
	if err := snd.Send(datagrams(20, 1000, 0), ep); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("datagrams lost")
	}
	if rcv.v4.maxSegs < 2 {
		t.Error("no merged run received: the split was not exercised")
	}
}
