package bind

import (
	"net"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestQueueControlDropsStampedData: with the delay control due to drop,
// a transport data message that waited in the socket is dropped (handed
// out with size 0), which needs its kernel arrival stamp to have been
// read; a handshake message beside it is not. Without QueueControl (the
// default) nothing is dropped. Both receive paths (with and without UDP_GRO) are covered.
func TestQueueControlDropsStampedData(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts StdOptions
		drop bool
	}{
		{"gro", StdOptions{QueueControl: true}, true},
		{"nogro", StdOptions{NoGRO: true, QueueControl: true}, true},
		{"off", StdOptions{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, fns, port := openBind(t, func() Bind { return NewStdWithOptions(tc.opts) }, 0)
			s := b.(*linuxBind).v4
			if s == nil {
				t.Skip("no IPv4 UDP socket")
			}
			if !tc.drop {
				if s.aqm != nil {
					t.Fatal("the delay control is on without QueueControl")
				}
			} else {
				if s.aqm == nil {
					t.Fatal("no delay control (SO_TIMESTAMPNS refused?)")
				}
				// Due to drop the next datagram that waited beyond target.
				s.aqm.mu.Lock()
				s.aqm.dropping, s.aqm.dropNext, s.aqm.count, s.aqm.firstAbove = true, 0, 1, 1
				s.aqm.mu.Unlock()
			}
			c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			initiation := make([]byte, 148)
			initiation[0] = 1
			data := make([]byte, 200) // a transport message with payload
			data[0] = 4
			for _, m := range [][]byte{initiation, data} {
				if _, err := c.Write(m); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(3 * queueTarget) // both wait in the socket beyond target
			r := waitReceived(t, receiveN(b, fns[0], 2))
			if r.count != 2 {
				t.Fatalf("received %d datagrams, want 2", r.count)
			}
			if len(r.bufs[0]) != 148 || r.bufs[0][0] != 1 {
				t.Errorf("the handshake message came out as %d bytes", len(r.bufs[0]))
			}
			want := 200
			if tc.drop {
				want = 0
			}
			if len(r.bufs[1]) != want {
				t.Errorf("the data message came out as %d bytes, want %d", len(r.bufs[1]), want)
			}
		})
	}
}

func TestParseArrival(t *testing.T) {
	// A UDP_GRO message, then the stamp: the order the kernel writes them.
	ctrl := make([]byte, controlSize)
	gro := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
	gro.Level, gro.Type = unix.SOL_UDP, unix.UDP_GRO
	gro.SetLen(unix.CmsgLen(4))
	at := unix.CmsgSpace(4)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[at]))
	h.Level, h.Type = unix.SOL_SOCKET, unix.SO_TIMESTAMPNS
	h.SetLen(unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{}))))
	*(*unix.Timespec)(unsafe.Pointer(&ctrl[at+unix.CmsgLen(0)])) = unix.NsecToTimespec(1796344670123456789)
	if got := parseArrival(ctrl); got != 1796344670123456789 {
		t.Errorf("parseArrival = %d, want 1796344670123456789", got)
	}
	// Cut short: no stamp.
	if got := parseArrival(ctrl[:at+unix.CmsgLen(0)+4]); got != 0 {
		t.Errorf("parseArrival of a truncated stamp = %d, want 0", got)
	}
}

func TestParseArrivalIgnoresGarbage(t *testing.T) {
	for _, ctrl := range [][]byte{nil, {1, 2, 3}, make([]byte, controlSize)} {
		if got := parseArrival(ctrl); got != 0 {
			t.Errorf("parseArrival(%v) = %d, want 0", ctrl, got)
		}
	}
}

func FuzzParseArrival(f *testing.F) {
	f.Add(make([]byte, controlSize))
	f.Fuzz(func(t *testing.T, ctrl []byte) {
		parseArrival(ctrl) // must not panic or read beyond ctrl
	})
}
