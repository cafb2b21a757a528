package wgref

import (
	"os"
	"sync"

	reftun "golang.zx2c4.com/wireguard/tun"

	"github.com/warren-vpn/warren/internal/tun"
)

// memoryTUN adapts a *tun.Memory to the reference's tun.Device.
type memoryTUN struct {
	m      *tun.Memory
	events chan reftun.Event
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// MemoryTUN adapts m to the reference's tun.Device, so a reference device
// can run on the same in-memory TUN as warren's engine. Closing the
// returned device closes m.
func MemoryTUN(m *tun.Memory) reftun.Device {
	t := &memoryTUN{m: m, events: make(chan reftun.Event), stop: make(chan struct{})}
	t.wg.Add(1)
	go t.forwardEvents()
	return t
}

// forwardEvents translates m's events until m's Events closes or t closes.
func (t *memoryTUN) forwardEvents() {
	defer t.wg.Done()
	defer close(t.events)
	for {
		var e tun.Event
		var ok bool
		select {
		case e, ok = <-t.m.Events():
			if !ok {
				return
			}
		case <-t.stop:
			return
		}
		var re reftun.Event
		switch {
		case e&tun.EventUp != 0:
			re = reftun.EventUp
		case e&tun.EventDown != 0:
			re = reftun.EventDown
		case e&tun.EventMTUUpdate != 0:
			re = reftun.EventMTUUpdate
		default:
			continue
		}
		select {
		case t.events <- re:
		case <-t.stop:
			return
		}
	}
}

func (t *memoryTUN) File() *os.File { return nil }
func (t *memoryTUN) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	return t.m.Read(bufs, sizes, offset)
}
func (t *memoryTUN) Write(bufs [][]byte, offset int) (int, error) { return t.m.Write(bufs, offset) }
func (t *memoryTUN) MTU() (int, error)                            { return t.m.MTU() }
func (t *memoryTUN) Name() (string, error)                        { return t.m.Name() }
func (t *memoryTUN) Events() <-chan reftun.Event                  { return t.events }
func (t *memoryTUN) BatchSize() int                               { return t.m.BatchSize() }

func (t *memoryTUN) Close() error {
	t.once.Do(func() { close(t.stop) })
	err := t.m.Close()
	t.wg.Wait()
	return err
}
