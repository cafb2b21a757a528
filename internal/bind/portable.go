package bind

import (
	"errors"
	"fmt"
	"net"
	"sync"
)

// portableBind is a Bind on net.UDPConn for any platform: one IPv4 and one
// IPv6 socket on the same port, one datagram per call, no sticky source
// addresses.
type portableBind struct {
	mu     sync.RWMutex // guards v4 and v6
	v4, v6 *net.UDPConn
}

func (b *portableBind) Open(port uint16) ([]ReceiveFunc, uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.v4 != nil || b.v6 != nil {
		return nil, 0, fmt.Errorf("open udp port %d: bind already open", port)
	}
	v4, v6, actual, err := listenPair(port, nil)
	if err != nil {
		return nil, 0, err
	}
	b.v4, b.v6 = v4, v6
	var fns []ReceiveFunc
	for _, c := range []*net.UDPConn{v4, v6} {
		if c != nil {
			// A small buffer only costs drops under load: ignore failure.
			_ = c.SetReadBuffer(socketBufferSize)
			_ = c.SetWriteBuffer(socketBufferSize)
			fns = append(fns, portableReceive(c))
		}
	}
	return fns, actual, nil
}

func portableReceive(c *net.UDPConn) ReceiveFunc {
	return func(bufs [][]byte, sizes []int, eps []Endpoint) (int, error) {
		n, ap, err := c.ReadFromUDPAddrPort(bufs[0])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return 0, ErrClosed
			}
			return 0, fmt.Errorf("receive on %v: %w", c.LocalAddr(), err)
		}
		sizes[0] = n
		eps[0] = &stdEndpoint{dst: unmapAddrPort(ap)}
		return 1, nil
	}
}

func (b *portableBind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var err4, err6 error
	if b.v4 != nil {
		err4 = b.v4.Close()
	}
	if b.v6 != nil {
		err6 = b.v6.Close()
	}
	b.v4, b.v6 = nil, nil
	return errors.Join(err4, err6)
}

// SetMark accepts 0; firewall marks exist only on Linux.
func (b *portableBind) SetMark(mark uint32) error {
	if mark == 0 {
		return nil
	}
	return fmt.Errorf("set fwmark %d: %w", mark, errors.ErrUnsupported)
}

func (b *portableBind) Send(bufs [][]byte, ep Endpoint) error {
	dst := unmapAddrPort(ep.DstAddrPort())
	b.mu.RLock()
	defer b.mu.RUnlock()
	c := b.v6
	if dst.Addr().Is4() {
		c = b.v4
	}
	if c == nil {
		if b.v4 == nil && b.v6 == nil {
			return ErrClosed
		}
		return noSocketError(dst)
	}
	for _, buf := range bufs {
		if _, err := c.WriteToUDPAddrPort(buf, dst); err != nil {
			return fmt.Errorf("send to %v: %w", dst, err)
		}
	}
	return nil
}

func (b *portableBind) ParseEndpoint(s string) (Endpoint, error) { return parseEndpoint(s) }

func (b *portableBind) BatchSize() int { return 1 }
