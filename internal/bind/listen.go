package bind

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// listenTries bounds how often Open(0) retries when the port the kernel
// picked for IPv4 is taken for IPv6.
const listenTries = 100

// socketBufferSize is the receive and send buffer asked for on each socket;
// a handshake flood or a burst of transport data must not overflow it.
const socketBufferSize = 7 << 20

// controlFunc prepares a socket before bind, as net.ListenConfig.Control.
type controlFunc func(network, address string, c syscall.RawConn) error

// listenPair opens an IPv4 and an IPv6 UDP socket on the same port. Either
// may be nil when its family is unavailable on this host, but not both. With
// port 0 it retries until a port is found that both families can bind.
func listenPair(port uint16, control controlFunc) (v4, v6 *net.UDPConn, actual uint16, err error) {
	tries := 1
	if port == 0 {
		tries = listenTries
	}
	for range tries {
		var err4, err6 error
		v4, err4 = listenFamily("udp4", netip.IPv4Unspecified(), port, control)
		if err4 != nil && !familyUnavailable(err4) {
			return nil, nil, 0, err4
		}
		want := port
		if v4 != nil {
			want = uint16(v4.LocalAddr().(*net.UDPAddr).Port)
		}
		v6, err6 = listenFamily("udp6", netip.IPv6Unspecified(), want, control)
		if err6 != nil && !familyUnavailable(err6) {
			if v4 != nil {
				v4.Close()
				if port == 0 && errors.Is(err6, syscall.EADDRINUSE) {
					continue // the kernel's pick for IPv4 is taken for IPv6
				}
			}
			return nil, nil, 0, err6
		}
		switch {
		case v4 != nil:
			return v4, v6, want, nil
		case v6 != nil:
			return nil, v6, uint16(v6.LocalAddr().(*net.UDPAddr).Port), nil
		default:
			return nil, nil, 0, fmt.Errorf("open udp port %d: no address family available: %w; %w", port, err4, err6)
		}
	}
	return nil, nil, 0, fmt.Errorf("open udp port 0: no port free for both IPv4 and IPv6 after %d tries: %w", listenTries, syscall.EADDRINUSE)
}

func listenFamily(network string, addr netip.Addr, port uint16, control controlFunc) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: control}
	ap := netip.AddrPortFrom(addr, port)
	pc, err := lc.ListenPacket(context.Background(), network, ap.String())
	if err != nil {
		return nil, fmt.Errorf("open udp port %d: %w", port, withAddrInUse(err))
	}
	return pc.(*net.UDPConn), nil
}

// closeConns closes the sockets that are open.
func closeConns(cs ...*net.UDPConn) {
	for _, c := range cs {
		if c != nil {
			c.Close()
		}
	}
}

// noSocketError reports that the Bind has no socket for dst's family.
func noSocketError(dst netip.AddrPort) error {
	fam := "IPv4"
	if dst.Addr().Is6() {
		fam = "IPv6"
	}
	return fmt.Errorf("send to %v: no %s socket open: %w", dst, fam, syscall.EAFNOSUPPORT)
}
