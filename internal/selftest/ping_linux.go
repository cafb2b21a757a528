package selftest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// ICMP message types of an echo (RFC 792, RFC 4443).
const (
	icmp4EchoRequest = 8
	icmp4EchoReply   = 0
	icmp6EchoRequest = 128
	icmp6EchoReply   = 129
	// pingInterval is how long one echo request waits for its reply
	// before the next is sent.
	pingInterval = 500 * time.Millisecond
)

// echoRequest builds an ICMP (or ICMPv6) echo request. The ICMPv4
// checksum is computed here; the kernel fills in ICMPv6's, which covers a
// pseudo-header only it knows for sure.
func echoRequest(v6 bool, id, seq uint16, data []byte) []byte {
	b := make([]byte, 8+len(data))
	b[0] = icmp4EchoRequest
	if v6 {
		b[0] = icmp6EchoRequest
	}
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	copy(b[8:], data)
	if !v6 {
		binary.BigEndian.PutUint16(b[2:], ^checksum(b))
	}
	return b
}

// checksum is the Internet checksum's one's complement sum (RFC 1071).
func checksum(b []byte) uint16 {
	var s uint32
	for len(b) >= 2 {
		s += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// parseEchoReply reads an ICMP message (without its IP header) and returns
// its identifier, sequence number and data if it is an echo reply of the
// family; ok is false for anything else, however malformed.
func parseEchoReply(v6 bool, b []byte) (id, seq uint16, data []byte, ok bool) {
	want := byte(icmp4EchoReply)
	if v6 {
		want = icmp6EchoReply
	}
	if len(b) < 8 || b[0] != want || b[1] != 0 {
		return 0, 0, nil, false
	}
	if !v6 && checksum(b) != 0xffff {
		return 0, 0, nil, false
	}
	return binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:]), b[8:], true
}

// ping sends echo requests to dst from a raw ICMP socket in the adapter's
// namespace, one every pingInterval, until a matching reply arrives.
func (a *linuxAdapter) ping(ctx context.Context, dst netip.Addr, payload int, df bool) (time.Duration, error) {
	v6 := dst.Is6()
	network := "ip4:icmp"
	if v6 {
		network = "ip6:ipv6-icmp"
	}
	var c *net.IPConn
	err := a.h.do(func() error {
		pc, err := net.ListenPacket(network, "")
		if err == nil {
			c = pc.(*net.IPConn)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("open a raw ICMP socket: %w", err)
	}
	defer c.Close()
	if df {
		if err := setDontFragment(c, v6); err != nil {
			return 0, err
		}
	}
	var r [2]byte
	rand.Read(r[:])
	id := binary.BigEndian.Uint16(r[:])
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte(i)
	}
	to := &net.IPAddr{IP: dst.AsSlice()}
	buf := make([]byte, 65536)
	start := time.Now()
	for seq := uint16(1); ; seq++ {
		sent := time.Now()
		if _, err := c.WriteTo(echoRequest(v6, id, seq, data), to); err != nil {
			return 0, fmt.Errorf("send: %w", err)
		}
		wait := sent.Add(pingInterval)
		if d, ok := ctx.Deadline(); ok && d.Before(wait) {
			wait = d
		}
		c.SetReadDeadline(wait)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				return 0, fmt.Errorf("receive: %w", err)
			}
			fa, _ := netip.AddrFromSlice(from.(*net.IPAddr).IP)
			rid, rseq, rdata, ok := parseEchoReply(v6, buf[:n])
			if ok && fa.Unmap() == dst && rid == id && rseq == seq && bytes.Equal(rdata, data) {
				return time.Since(sent), nil
			}
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("no reply to %d requests within %v", seq, time.Since(start).Round(100*time.Millisecond))
		}
	}
}

// setDontFragment forbids fragmenting what c sends: IPv4's DF bit (path
// MTU discovery "do"), and for IPv6 no local fragmentation.
func setDontFragment(c *net.IPConn, v6 bool) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	cerr := rc.Control(func(fd uintptr) {
		if v6 {
			err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_DONTFRAG, 1)
		} else {
			err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO)
		}
	})
	if err = errors.Join(cerr, err); err != nil {
		return fmt.Errorf("forbid fragmentation: %w", err)
	}
	return nil
}
