package tun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/testenv"
)

func makeBufs(n, size int) ([][]byte, []int) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	return bufs, make([]int, n)
}

func TestMemoryBatchReadWithOffset(t *testing.T) {
	testenv.CheckGoroutines(t)
	m := NewMemory("mem0", 1420)
	defer m.Close()
	const offset = 16
	for i := range 100 {
		pkt := []byte{byte(i), 1, 2, 3}
		if err := m.Inject(pkt); err != nil {
			t.Fatal(err)
		}
		pkt[0] = 0xff // Inject must have copied
	}
	bufs, sizes := makeBufs(m.BatchSize(), 64)
	n, err := m.Read(bufs, sizes, offset)
	if err != nil {
		t.Fatal(err)
	}
	if n != m.BatchSize() {
		t.Fatalf("first Read returned %d packets, want a full batch of %d", n, m.BatchSize())
	}
	got := n
	for got < 100 {
		n2, err := m.Read(bufs[:10], sizes, offset)
		if err != nil {
			t.Fatal(err)
		}
		if n2 > 10 {
			t.Fatalf("Read returned %d > len(bufs)", n2)
		}
		for i := range n2 {
			want := []byte{byte(got + i), 1, 2, 3}
			if sizes[i] != 4 || !bytes.Equal(bufs[i][offset:offset+sizes[i]], want) {
				t.Fatalf("packet %d = %x, want %x", got+i, bufs[i][offset:offset+sizes[i]], want)
			}
		}
		got += n2
	}
	if got != 100 {
		t.Fatalf("read %d packets, want 100", got)
	}
	if s := m.Stats(); s.Injected != 100 || s.Read != 100 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMemoryReadTooLarge(t *testing.T) {
	m := NewMemory("mem0", 1420)
	defer m.Close()
	m.Inject(make([]byte, 100))
	bufs, sizes := makeBufs(1, 100)
	if _, err := m.Read(bufs, sizes, 1); !errors.Is(err, ErrPacketTooLarge) || !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("Read of oversized packet: err %v", err)
	}
}

func TestMemoryWriteOutbound(t *testing.T) {
	testenv.CheckGoroutines(t)
	m := NewMemory("mem0", 1420)
	defer m.Close()
	const offset = 32
	bufs := [][]byte{
		append(make([]byte, offset), 0x45, 1),
		append(make([]byte, offset), 0x45, 2),
	}
	n, err := m.Write(bufs, offset)
	if err != nil || n != 2 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	bufs[0][offset+1] = 0xff // Write must have copied
	for i := range 2 {
		p, err := m.ReadOutbound(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if want := []byte{0x45, byte(i + 1)}; !bytes.Equal(p, want) {
			t.Fatalf("outbound %d = %x, want %x", i, p, want)
		}
	}
}

func TestMemoryWriteDrop(t *testing.T) {
	m := NewMemory("mem0", 1420)
	defer m.Close()
	m.SetWriteDrop(true)
	pkt := [][]byte{{1}}
	for range MemoryQueueLen + 10 {
		if _, err := m.Write(pkt, 0); err != nil {
			t.Fatal(err)
		}
	}
	if s := m.Stats(); s.Written != MemoryQueueLen || s.WriteDropped != 10 {
		t.Fatalf("stats %+v, want %d written, 10 dropped", s, MemoryQueueLen)
	}
}

func TestMemoryCloseUnblocks(t *testing.T) {
	testenv.CheckGoroutines(t)
	m := NewMemory("mem0", 1420)
	readErr := make(chan error, 1)
	go func() {
		bufs, sizes := makeBufs(m.BatchSize(), 100)
		_, err := m.Read(bufs, sizes, 0)
		readErr <- err
	}()
	// Fill the outbound queue so a Write blocks, and the inbound one so Inject blocks.
	for range MemoryQueueLen {
		m.Write([][]byte{{1}}, 0)
	}
	writeErr := make(chan error, 1)
	go func() {
		_, err := m.Write([][]byte{{1}}, 0)
		writeErr <- err
	}()
	time.Sleep(10 * time.Millisecond)
	select {
	case err := <-readErr:
		t.Fatalf("Read returned before Close: %v", err)
	case err := <-writeErr:
		t.Fatalf("Write returned before Close: %v", err)
	default:
	}
	m.Close()
	for name, ch := range map[string]chan error{"Read": readErr, "Write": writeErr} {
		select {
		case err := <-ch:
			if !errors.Is(err, os.ErrClosed) {
				t.Errorf("%s after Close: %v, want os.ErrClosed", name, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s still blocked after Close", name)
		}
	}
	if err := m.Inject([]byte{1}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Inject after Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestMemoryInjectContext(t *testing.T) {
	m := NewMemory("mem0", 1420)
	defer m.Close()
	for range MemoryQueueLen {
		if err := m.Inject([]byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := m.InjectContext(ctx, []byte{1}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("InjectContext on full queue: %v, want deadline exceeded", err)
	}
}

func TestMemoryEvents(t *testing.T) {
	m := NewMemory("mem0", 1420)
	if e := <-m.Events(); e != EventUp {
		t.Fatalf("initial event %v, want EventUp", e)
	}
	if mtu, _ := m.MTU(); mtu != 1420 {
		t.Fatalf("MTU %d", mtu)
	}
	m.SetMTU(1280)
	if e := <-m.Events(); e != EventMTUUpdate {
		t.Fatalf("event %v, want EventMTUUpdate", e)
	}
	if mtu, _ := m.MTU(); mtu != 1280 {
		t.Fatalf("MTU after SetMTU = %d", mtu)
	}
	m.SetUp(false)
	if e := <-m.Events(); e != EventDown || m.IsUp() {
		t.Fatalf("event %v up=%v, want EventDown", e, m.IsUp())
	}
	m.SetUp(true)
	if e := <-m.Events(); e != EventUp {
		t.Fatalf("event %v, want EventUp", e)
	}
	if name, _ := m.Name(); name != "mem0" {
		t.Fatalf("Name %q", name)
	}
	m.Close()
	if _, ok := <-m.Events(); ok {
		t.Fatal("Events not closed by Close")
	}
	if err := m.SetUp(false); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("SetUp after Close: %v", err)
	}
}

func ExampleMemory() {
	m := NewMemory("wt0", 1420)
	defer m.Close()

	// The test plays the OS: it routes a packet into the interface...
	m.Inject([]byte{0x45, 0, 0, 20})

	// ...the engine reads it with headroom for its own header...
	const headroom = 16
	bufs := [][]byte{make([]byte, headroom+1500)}
	sizes := make([]int, 1)
	n, _ := m.Read(bufs, sizes, headroom)
	fmt.Println(n, "packet of", sizes[0], "bytes")

	// ...and writes a decrypted one, which the test receives.
	m.Write([][]byte{append(make([]byte, headroom), 0x60, 0, 0, 0)}, headroom)
	fmt.Printf("%x\n", <-m.Outbound())
	// Output:
	// 1 packet of 4 bytes
	// 60000000
}
