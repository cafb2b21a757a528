package uapi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

// streamHandler streams n generated peers; at peer check it calls onPeer.
type streamHandler struct {
	fakeHandler
	n      int
	check  int
	onPeer func()
	calls  atomic.Int32
	waited time.Duration // how long onPeer waited (set by the test's onPeer)
}

func (h *streamHandler) StreamState(dev func(*wgtypes.Device) error, peer func(*wgtypes.Peer) error) error {
	h.calls.Add(1)
	if err := dev(&wgtypes.Device{ListenPort: 51820}); err != nil {
		return err
	}
	var p wgtypes.Peer
	for i := range h.n {
		if i == h.check && h.onPeer != nil {
			h.onPeer()
		}
		p = wgtypes.Peer{ProtocolVersion: 1, AllowedIPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)}}
		p.PublicKey[0], p.PublicKey[1], p.PublicKey[2] = byte(i>>16), byte(i>>8), byte(i)
		if err := peer(&p); err != nil {
			return err
		}
	}
	return nil
}

// TestWriteGetStreamSameAsWriteGet: the streamed answer is byte for byte
// the one WriteGet writes for the same state.
func TestWriteGetStreamSameAsWriteGet(t *testing.T) {
	dev := testDevice()
	var want, got bytes.Buffer
	if err := WriteGet(&want, dev); err != nil {
		t.Fatal(err)
	}
	if err := WriteGetStream(&got, streamOf{dev}); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("streamed:\n%s\nwant:\n%s", got.String(), want.String())
	}
}

// streamOf streams a fixed Device.
type streamOf struct{ d *wgtypes.Device }

func (s streamOf) StreamState(dev func(*wgtypes.Device) error, peer func(*wgtypes.Peer) error) error {
	d := *s.d
	d.Peers = nil
	if err := dev(&d); err != nil {
		return err
	}
	for i := range s.d.Peers {
		if err := peer(&s.d.Peers[i]); err != nil {
			return err
		}
	}
	return nil
}

// TestServeGetStreams: the server answers a get from a StateStreamer as
// it streams, without waiting for the whole answer: halfway through the
// peers the client has already read most of the first half.
func TestServeGetStreams(t *testing.T) {
	const n = 20000
	var received atomic.Int64
	h := &streamHandler{n: n, check: n / 2}
	h.onPeer = func() {
		// The client reads as the server writes; give it a moment.
		start := time.Now()
		for received.Load() < 1<<20 && time.Since(start) < 5*time.Second {
			time.Sleep(time.Millisecond)
		}
		h.waited = time.Since(start)
	}
	cli, srv := net.Pipe()
	go ServeConn(srv, h, t.Logf)
	defer cli.Close()
	cli.SetDeadline(time.Now().Add(20 * time.Second))
	go io.WriteString(cli, "get=1\n\n")
	br := bufio.NewReader(countingReader{cli, &received})
	dev, err := ParseGet(br)
	if err != nil {
		t.Fatal(err)
	}
	if len(dev.Peers) != n || dev.ListenPort != 51820 {
		t.Fatalf("got %d peers, port %d; want %d, 51820", len(dev.Peers), dev.ListenPort, n)
	}
	if h.calls.Load() != 1 {
		t.Fatalf("StreamState called %d times, want 1", h.calls.Load())
	}
	if received.Load() < 1<<20 {
		t.Fatalf("only %d bytes in all", received.Load())
	}
	// The check: had the answer been built whole, the client would have
	// read nothing by peer n/2 and the wait above would have timed out.
	if h.waited > 4*time.Second {
		t.Fatalf("the client had read under 1 MiB when the server reached peer %d: the answer is not streamed", n/2)
	}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// TestServeGetStreamBrokenClient: a client that goes away mid-answer stops
// the stream; the server closes the connection.
func TestServeGetStreamBrokenClient(t *testing.T) {
	h := &streamHandler{n: 1 << 20}
	var stopped atomic.Bool
	h.check = 1<<20 - 1
	h.onPeer = func() { stopped.Store(true) }
	cli, srv := net.Pipe()
	done := make(chan struct{})
	var logged strings.Builder
	go func() {
		ServeConn(srv, h, func(f string, a ...any) { fmt.Fprintf(&logged, f+"\n", a...) })
		close(done)
	}()
	io.WriteString(cli, "get=1\n\n")
	buf := make([]byte, 4096)
	if _, err := io.ReadFull(cli, buf); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept streaming to a closed client")
	}
	if stopped.Load() {
		t.Error("the stream ran to its end after the client left")
	}
	if !strings.Contains(logged.String(), "get") {
		t.Errorf("nothing logged about the cut answer: %q", logged.String())
	}
}
