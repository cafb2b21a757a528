package bind

// StdOptions tune the standard Bind. The zero value is the fast default;
// platforms without a feature ignore its switch.
type StdOptions struct {
	// NoGSO sends every datagram as its own message, never several as
	// one UDP_SEGMENT (generic segmentation offload) send.
	NoGSO bool
	// NoGRO keeps the kernel from handing over runs of datagrams merged
	// into one (UDP_GRO).
	NoGRO bool
	// QueueControl turns on the receive queue's delay control (codel.go,
	// Linux): transport data that waited in the socket's buffer beyond
	// its target for longer than an interval is dropped. Off by default:
	// on scripts/bench.sh's two-core runs it did not shorten the RTT under
	// load (most of that queue is not in this socket) and cost ping losses.
	QueueControl bool
}
