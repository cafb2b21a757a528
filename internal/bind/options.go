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
	// NoQueueControl turns off the receive queue's delay control
	// (codel.go): datagrams then wait in the socket's buffer as long as
	// it lets them.
	NoQueueControl bool
}
