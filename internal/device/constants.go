package device

import (
	"time"

	"github.com/warren-vpn/warren/internal/wire"
)

// Protocol constants, named as in the whitepaper §6.1.
const (
	RekeyAfterMessages  = uint64(1) << 60
	RejectAfterMessages = ^uint64(0) - (uint64(1) << 13) // 2^64 - 2^13 - 1
	RekeyAfterTime      = 120 * time.Second
	RejectAfterTime     = 180 * time.Second
	RekeyAttemptTime    = 90 * time.Second
	RekeyTimeout        = 5 * time.Second
	KeepaliveTimeout    = 10 * time.Second
	CookieRefreshTime   = 120 * time.Second
	// HandshakeInitiationRate is the least time between two initiations
	// consumed from one peer (the "flood" check of §5.1).
	HandshakeInitiationRate = time.Second / 50
	// MaxTimerHandshakes is how many initiations are retried before giving up.
	MaxTimerHandshakes = int(RekeyAttemptTime / RekeyTimeout)
	// RekeyTimeoutJitterMax bounds the random extra added to RekeyTimeout.
	RekeyTimeoutJitterMax = 334 * time.Millisecond
)

// Engine limits.
const (
	// Headroom is the space the engine reserves before every packet it reads
	// from the TUN device, so that a transport header can be written in place.
	Headroom = wire.TransportHeaderSize

	// MaxMessageSize is the largest UDP payload the engine handles.
	MaxMessageSize = 1<<16 - 1
	// MaxPacketSize is the largest inner IP packet: it must fit a message
	// together with transport overhead and padding.
	MaxPacketSize = MaxMessageSize - wire.TransportOverhead - wire.PaddingMultiple

	// MaxStagedPackets bounds the per-peer queue of packets awaiting a
	// session; the oldest is dropped when it is full.
	MaxStagedPackets = 128
	// HandshakeQueueSize bounds the queue of handshake messages awaiting a
	// worker; beyond it they are dropped.
	HandshakeQueueSize = 1024
	// underLoadThreshold: when this many handshake messages are queued, the
	// device considers itself under load and demands cookies (§5.3).
	underLoadThreshold = HandshakeQueueSize / 8
	// underLoadAfter is how long the device stays under load once it was.
	underLoadAfter = time.Second
	// pipelineDepth bounds the batches in flight in each direction.
	pipelineDepth = 16
	// defaultMTU is used when the TUN device cannot tell its MTU.
	defaultMTU = 1420
)
