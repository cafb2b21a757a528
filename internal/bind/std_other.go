//go:build !linux

package bind

// NewStd returns a Bind over the operating system's UDP sockets: one IPv4
// and one IPv6 socket on the same port. This portable version receives and
// sends one datagram per call and has no sticky source addresses.
func NewStd() Bind { return &portableBind{} }

// NewStdWithOptions is NewStd; this version has no offloads to turn off.
func NewStdWithOptions(StdOptions) Bind { return NewStd() }
