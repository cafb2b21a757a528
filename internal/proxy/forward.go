package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultUDPIdle ends a forwarded UDP flow after this much silence.
const DefaultUDPIdle = 2 * time.Minute

// Forwarder serves one Forward over a Tunnel.
type Forwarder struct {
	Tunnel  *Tunnel
	Forward Forward
	// Logf receives one line per failed connection; nil discards.
	Logf func(format string, args ...any)
	// Limiter caps the connections and UDP flows held and sets the TCP
	// relays' idle timeout; nil gives the forward its own with
	// DefaultLimits.
	Limiter *Limiter

	lim limiterRef
	t   tracker
}

func (f *Forwarder) limiter() *Limiter { return f.lim.get(f.Limiter, f.Logf) }

func (f *Forwarder) logf(format string, args ...any) {
	if f.Logf != nil {
		f.Logf(format, args...)
	}
}

// Listen opens the forward's listening sockets: on this machine, or for a
// reverse forward on the stack (every tunnel address of the port, unless
// one is named).
func (f *Forwarder) Listen() ([]net.Listener, []net.PacketConn, error) {
	fw := f.Forward
	if !fw.Reverse {
		la, err := parseListen(fw.Listen)
		if err != nil {
			return nil, nil, fmt.Errorf("forward %v: listen address %q: %w", fw, fw.Listen, err)
		}
		if fw.UDP {
			pc, err := net.ListenPacket("udp"+la.Family, la.Address)
			if err != nil {
				return nil, nil, fmt.Errorf("forward %v: %w", fw, err)
			}
			return nil, []net.PacketConn{pc}, nil
		}
		l, err := net.Listen("tcp"+la.Family, la.Address)
		if err != nil {
			return nil, nil, fmt.Errorf("forward %v: %w", fw, err)
		}
		return []net.Listener{l}, nil, nil
	}
	var addrs []netip.AddrPort
	if port, err := strconv.ParseUint(fw.Listen, 10, 16); err == nil {
		for _, a := range f.Tunnel.Net.Addresses() {
			addrs = append(addrs, netip.AddrPortFrom(a, uint16(port)))
		}
	} else if ap, err := netip.ParseAddrPort(fw.Listen); err == nil {
		addrs = append(addrs, ap)
	} else {
		return nil, nil, fmt.Errorf("forward %v: tunnel side %q is not PORT or ADDR:PORT", fw, fw.Listen)
	}
	var ls []net.Listener
	var pcs []net.PacketConn
	for _, ap := range addrs {
		var err error
		if fw.UDP {
			var pc net.PacketConn
			if pc, err = f.Tunnel.Net.ListenUDP(ap); err == nil {
				pcs = append(pcs, pc)
			}
		} else {
			var l net.Listener
			if l, err = f.Tunnel.Net.ListenTCP(ap); err == nil {
				ls = append(ls, l)
			}
		}
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			for _, pc := range pcs {
				pc.Close()
			}
			return nil, nil, fmt.Errorf("forward %v: %w", fw, err)
		}
	}
	return ls, pcs, nil
}

// Serve serves the sockets Listen returned until Close.
func (f *Forwarder) Serve(ls []net.Listener, pcs []net.PacketConn) {
	for _, l := range ls {
		f.t.goroutine(func() {
			if err := f.t.serve(l, f.limiter(), f.handleTCP); err != nil {
				f.logf("forward %v: %v", f.Forward, err)
			}
		})
	}
	for _, pc := range pcs {
		if !f.t.add(pc) {
			continue
		}
		f.t.goroutine(func() {
			defer f.t.remove(pc)
			f.serveUDP(pc)
		})
	}
}

// Close stops the forward and ends its connections.
func (f *Forwarder) Close() error {
	f.t.close()
	return nil
}

// dial connects to the target: through the tunnel, or for a reverse
// forward on this machine.
func (f *Forwarder) dial(ctx context.Context, network string) (net.Conn, error) {
	if f.Forward.Reverse {
		var d net.Dialer
		ctx, cancel := context.WithTimeout(ctx, DefaultDialTimeout)
		defer cancel()
		return d.DialContext(ctx, network, f.Forward.Target)
	}
	return f.Tunnel.DialContext(ctx, network, f.Forward.Target)
}

func (f *Forwarder) handleTCP(c net.Conn) {
	up, err := f.dial(context.Background(), "tcp")
	if err != nil {
		f.logf("forward %v: from %v: %v", f.Forward, c.RemoteAddr(), err)
		return
	}
	if !f.t.add(up) {
		return
	}
	defer f.t.remove(up)
	relay(c, up, f.limiter().limits.TCPIdle)
}

// udpFlow is one client's flow through a UDP forward: its own socket to
// the target, and its place in the flow table.
type udpFlow struct {
	up   net.Conn
	slot *slot
	sent atomic.Int64 // time.Now().UnixNano() of the client's last datagram
}

// serveUDP relays datagrams between each client of pc and its own socket
// to the target (a flow). A flow ends after the idle time without a
// datagram either way, or when the flow table needs its place (the least
// recently active goes first); the client's next datagram starts a new
// one.
func (f *Forwarder) serveUDP(pc net.PacketConn) {
	idle := f.Forward.Idle
	if idle == 0 {
		idle = DefaultUDPIdle
	}
	flowTable := f.limiter().flows
	var mu sync.Mutex
	flows := map[string]*udpFlow{}
	var wg sync.WaitGroup
	defer func() {
		mu.Lock()
		for _, fl := range flows {
			fl.up.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	buf := make([]byte, udpBufSize)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		key := from.String()
		mu.Lock()
		fl := flows[key]
		mu.Unlock()
		if fl == nil {
			up, err := f.dial(context.Background(), "udp")
			if err != nil {
				f.logf("forward %v: from %v: %v", f.Forward, from, err)
				continue
			}
			s, err := flowTable.admit(addrOf(from), func() { up.Close() })
			if err != nil {
				up.Close()
				continue
			}
			fl = &udpFlow{up: up, slot: s}
			mu.Lock()
			flows[key] = fl
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					mu.Lock()
					if flows[key] == fl {
						delete(flows, key)
					}
					mu.Unlock()
					s.release()
					up.Close()
				}()
				f.toClient(pc, fl, from, idle)
			})
		}
		fl.slot.touch()
		fl.sent.Store(time.Now().UnixNano())
		fl.up.Write(buf[:n])
	}
}

// toClient relays the target's datagrams on fl back to the client at to
// until the flow has been idle for idle or is closed. On a system socket
// (a reverse forward's) it holds no buffer while it waits; the userspace
// stack's UDP cannot be waited on without reading, so there the flow
// holds one.
func (f *Forwarder) toClient(pc net.PacketConn, fl *udpFlow, to net.Addr, idle time.Duration) {
	for {
		fl.up.SetReadDeadline(time.Now().Add(idle))
		waitDatagram(fl.up)
		bp := udpBufs.Get().(*[]byte)
		n, err := fl.up.Read(*bp)
		if err == nil {
			fl.slot.touch()
			_, err = pc.WriteTo((*bp)[:n], to)
		}
		udpBufs.Put(bp)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && time.Since(time.Unix(0, fl.sent.Load())) < idle {
				continue // the client spoke meanwhile: the flow is not idle
			}
			return
		}
	}
}
