package tun

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// Defaults of the in-memory device.
const (
	// MemoryBatchSize is the most packets one Read of a Memory returns.
	MemoryBatchSize = 64
	// MemoryQueueLen bounds each direction's queue of a Memory device.
	MemoryQueueLen = 1024
	// memoryEventQueueLen bounds the queue of undelivered events.
	memoryEventQueueLen = 16
)

// ErrPacketTooLarge is returned by Read when a queued packet does not fit
// the buffer it was to be read into; the packet is discarded.
var ErrPacketTooLarge = fmt.Errorf("tun: packet larger than read buffer: %w", io.ErrShortBuffer)

// Memory is an in-memory Device for tests. The engine's side uses it as a
// Device; the test's side injects packets the engine will Read (as if the
// OS had routed them into the interface) with Inject, and receives packets
// the engine Writes (as if for the OS to deliver) from Outbound.
//
// Both directions have bounded queues. Inject blocks while the inbound queue
// is full; Write blocks while the outbound queue is full unless
// SetWriteDrop(true) was called, in which case it drops (like a kernel
// whose receive queue overflows) and counts the drop. Close unblocks both.
// All methods are safe for concurrent use.
type Memory struct {
	name string
	mtu  atomic.Int64
	up   atomic.Bool
	drop atomic.Bool

	inbound  chan []byte // test → engine (Read)
	outbound chan []byte // engine (Write) → test

	done      chan struct{}
	closeOnce sync.Once
	evMu      sync.RWMutex // held for reading while sending on events; Close takes it to close events
	events    chan Event

	injected, read, written, writeDropped, readDropped atomic.Uint64
}

var _ Device = (*Memory)(nil)

// NewMemory returns a Memory device named name with the given MTU. It starts
// up, with an EventUp queued on Events.
func NewMemory(name string, mtu int) *Memory {
	m := &Memory{
		name:     name,
		inbound:  make(chan []byte, MemoryQueueLen),
		outbound: make(chan []byte, MemoryQueueLen),
		done:     make(chan struct{}),
		events:   make(chan Event, memoryEventQueueLen),
	}
	m.mtu.Store(int64(mtu))
	m.up.Store(true)
	m.events <- EventUp
	return m
}

func (m *Memory) closedErr(op string) error {
	return fmt.Errorf("tun %s: %s: %w", m.name, op, os.ErrClosed)
}

// Read implements Device. It blocks until at least one packet is queued or
// the device is closed, then returns as many queued packets as fit in bufs.
func (m *Memory) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if len(bufs) == 0 {
		return 0, nil
	}
	var pkt []byte
	select {
	case <-m.done:
		return 0, m.closedErr("read")
	case pkt = <-m.inbound:
	}
	n := 0
	for {
		if offset < 0 || offset > len(bufs[n]) || len(pkt) > len(bufs[n])-offset {
			m.readDropped.Add(1)
			return n, fmt.Errorf("tun %s: read %d bytes at offset %d into %d-byte buffer: %w",
				m.name, len(pkt), offset, len(bufs[n]), ErrPacketTooLarge)
		}
		sizes[n] = copy(bufs[n][offset:], pkt)
		n++
		m.read.Add(1)
		if n == len(bufs) || n == len(sizes) {
			return n, nil
		}
		select {
		case pkt = <-m.inbound:
		default:
			return n, nil
		}
	}
}

// Write implements Device: each bufs[i][offset:] is copied onto the
// Outbound channel.
func (m *Memory) Write(bufs [][]byte, offset int) (int, error) {
	for i, b := range bufs {
		if offset < 0 || offset > len(b) {
			return i, fmt.Errorf("tun %s: write: offset %d beyond %d-byte buffer: %w", m.name, offset, len(b), io.ErrShortBuffer)
		}
		pkt := append([]byte(nil), b[offset:]...)
		select {
		case <-m.done:
			return i, m.closedErr("write")
		default:
		}
		if m.drop.Load() {
			select {
			case m.outbound <- pkt:
				m.written.Add(1)
			default:
				m.writeDropped.Add(1)
			}
			continue
		}
		select {
		case <-m.done:
			return i, m.closedErr("write")
		case m.outbound <- pkt:
			m.written.Add(1)
		}
	}
	return len(bufs), nil
}

// MTU implements Device.
func (m *Memory) MTU() (int, error) { return int(m.mtu.Load()), nil }

// Name implements Device.
func (m *Memory) Name() (string, error) { return m.name, nil }

// Events implements Device. The channel is closed by Close.
func (m *Memory) Events() <-chan Event { return m.events }

// BatchSize implements Device.
func (m *Memory) BatchSize() int { return MemoryBatchSize }

// Close implements Device: blocked Read, Write and Inject calls return an
// error wrapping os.ErrClosed and Events is closed. Close is idempotent.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() {
		close(m.done)
		m.evMu.Lock()
		close(m.events)
		m.evMu.Unlock()
	})
	return nil
}

// Done is closed when the device is closed.
func (m *Memory) Done() <-chan struct{} { return m.done }

// Inject queues a copy of pkt for the engine to Read, blocking while the
// queue is full. It fails with an error wrapping os.ErrClosed once the
// device is closed.
func (m *Memory) Inject(pkt []byte) error {
	return m.InjectContext(context.Background(), pkt)
}

// InjectContext is Inject that also gives up when ctx is done, returning
// ctx's error.
func (m *Memory) InjectContext(ctx context.Context, pkt []byte) error {
	p := append([]byte(nil), pkt...)
	select {
	case <-m.done:
		return m.closedErr("inject")
	default:
	}
	select {
	case <-m.done:
		return m.closedErr("inject")
	case <-ctx.Done():
		return fmt.Errorf("tun %s: inject: %w", m.name, ctx.Err())
	case m.inbound <- p:
		m.injected.Add(1)
		return nil
	}
}

// Outbound delivers a copy of every packet the engine Writes, in order. It
// is never closed; select on Done as well to notice Close.
func (m *Memory) Outbound() <-chan []byte { return m.outbound }

// ReadOutbound waits for the next packet the engine Writes, giving up when
// ctx is done or the device is closed (and no packet is left queued).
func (m *Memory) ReadOutbound(ctx context.Context) ([]byte, error) {
	select {
	case p := <-m.outbound:
		return p, nil
	default:
	}
	select {
	case p := <-m.outbound:
		return p, nil
	case <-m.done:
		return nil, m.closedErr("read outbound")
	case <-ctx.Done():
		return nil, fmt.Errorf("tun %s: read outbound: %w", m.name, ctx.Err())
	}
}

// SetWriteDrop chooses what Write does when the Outbound queue is full:
// drop the packet (true) or block (false, the default).
func (m *Memory) SetWriteDrop(drop bool) { m.drop.Store(drop) }

// SetMTU changes the MTU and reports EventMTUUpdate.
func (m *Memory) SetMTU(mtu int) error {
	m.mtu.Store(int64(mtu))
	return m.sendEvent(EventMTUUpdate)
}

// SetUp brings the interface up or down, reporting EventUp or EventDown.
func (m *Memory) SetUp(up bool) error {
	m.up.Store(up)
	if up {
		return m.sendEvent(EventUp)
	}
	return m.sendEvent(EventDown)
}

// IsUp reports whether the interface is up (as last set by SetUp).
func (m *Memory) IsUp() bool { return m.up.Load() }

// sendEvent blocks while the events queue is full, until Close.
func (m *Memory) sendEvent(e Event) error {
	m.evMu.RLock()
	defer m.evMu.RUnlock()
	select {
	case <-m.done:
		return m.closedErr("event")
	default:
	}
	select {
	case m.events <- e:
		return nil
	case <-m.done:
		return m.closedErr("event")
	}
}

// MemoryStats counts packets through a Memory device.
type MemoryStats struct {
	Injected     uint64 // queued by Inject
	Read         uint64 // returned by Read
	ReadDropped  uint64 // discarded by Read because they did not fit
	Written      uint64 // queued on Outbound by Write
	WriteDropped uint64 // dropped by Write because Outbound was full
}

// Stats returns the device's counters.
func (m *Memory) Stats() MemoryStats {
	return MemoryStats{
		Injected:     m.injected.Load(),
		Read:         m.read.Load(),
		ReadDropped:  m.readDropped.Load(),
		Written:      m.written.Load(),
		WriteDropped: m.writeDropped.Load(),
	}
}
