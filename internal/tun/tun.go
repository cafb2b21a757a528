// Package tun defines the engine's seam to a layer-3 network interface: a
// Device that reads and writes batches of IP packets with headroom before
// each, so the engine can encrypt in place. Implementations live beside it:
// Linux /dev/net/tun (tun_linux.go) and an in-memory device for tests
// (memory.go); Wintun and a userspace stack come with their own issues.
package tun

// Event is a change of the interface's state.
type Event int

// Events a Device reports.
const (
	EventUp Event = 1 << iota
	EventDown
	EventMTUUpdate
)

// Device is a TUN interface carrying IP packets.
type Device interface {
	// Read reads up to len(bufs) packets, the i-th into bufs[i][offset:],
	// and records its length in sizes[i]. It returns how many it read.
	// len(bufs) must be at least BatchSize().
	Read(bufs [][]byte, sizes []int, offset int) (n int, err error)
	// Write writes each bufs[i][offset:] as one packet. It returns how many
	// buffers it consumed. Write may modify the bytes before offset.
	// Write should not wait for room for long (the kernel's TUN, Wintun and
	// the userspace stack drop instead): a Write that blocks holds up the
	// engine's receive path, and Down, until it returns; Close always
	// unblocks it.
	Write(bufs [][]byte, offset int) (int, error)
	// MTU returns the interface's current MTU.
	MTU() (int, error)
	// Name returns the interface's name.
	Name() (string, error)
	// Events reports up/down and MTU changes. It is closed by Close.
	Events() <-chan Event
	// BatchSize is the most packets one Read may return.
	BatchSize() int
	// Close releases the interface; a blocked Read returns an error.
	Close() error
}
