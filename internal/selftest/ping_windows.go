package selftest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// ICMP echo through Windows' own stack, as ping.exe sends it: the ICMP
// helper API of iphlpapi.dll.
var (
	modiphlpapi         = windows.NewLazySystemDLL("iphlpapi.dll")
	procIcmpCreateFile  = modiphlpapi.NewProc("IcmpCreateFile")
	procIcmp6CreateFile = modiphlpapi.NewProc("Icmp6CreateFile")
	procIcmpCloseHandle = modiphlpapi.NewProc("IcmpCloseHandle")
	procIcmpSendEcho2   = modiphlpapi.NewProc("IcmpSendEcho2")
	procIcmp6SendEcho2  = modiphlpapi.NewProc("Icmp6SendEcho2")
)

const (
	ipFlagDF        = 0x2   // IP_FLAG_DF
	ipSuccess       = 0     // IP_SUCCESS
	ipStatusBase    = 11000 // IP_STATUS_BASE
	ipReqTimedOut   = 11010 // IP_REQ_TIMED_OUT
	ipPacketTooBig  = 11009 // IP_PACKET_TOO_BIG
	defaultTTL      = 128
	echoReplyStatus = 4 // offset of Status in ICMP_ECHO_REPLY
	echoReplyRTT    = 8 // offset of RoundTripTime
	// In ICMPV6_ECHO_REPLY, Status follows the 28-byte (padded)
	// IPV6_ADDRESS_EX, RoundTripTime follows Status.
	echo6ReplyStatus = 28
	echo6ReplyRTT    = 32
	// replySlack is room in the reply buffer beyond the echoed data for
	// the reply structure and an ICMP error's payload.
	replySlack = 256
)

// ipOptionInformation is IP_OPTION_INFORMATION (64-bit layout).
type ipOptionInformation struct {
	ttl, tos, flags, optionsSize uint8
	optionsData                  *byte
}

var _ [16]byte = [unsafe.Sizeof(ipOptionInformation{})]byte{}

// ping sends echo requests with IcmpSendEcho2 (Icmp6SendEcho2), one second
// each, until one is answered or ctx ends.
func (a *winAdapter) ping(ctx context.Context, dst netip.Addr, payload int, df bool) (time.Duration, error) {
	v6 := dst.Is6()
	create := procIcmpCreateFile
	if v6 {
		create = procIcmp6CreateFile
	}
	if err := create.Find(); err != nil {
		return 0, err
	}
	h, _, e := create.Call()
	if windows.Handle(h) == windows.InvalidHandle {
		return 0, fmt.Errorf("%s: %w", create.Name, e)
	}
	defer procIcmpCloseHandle.Call(h)
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte(i)
	}
	opts := ipOptionInformation{ttl: defaultTTL}
	if df {
		opts.flags = ipFlagDF
	}
	reply := make([]byte, payload+replySlack)
	start := time.Now()
	tries := 0
	for {
		tries++
		timeout := uint32(1000)
		if d, ok := ctx.Deadline(); ok {
			if left := time.Until(d); left < time.Second {
				timeout = uint32(max(left.Milliseconds(), 1))
			}
		}
		var n uintptr
		sent := time.Now()
		if v6 {
			src := windows.RawSockaddrInet6{Family: windows.AF_INET6}
			to := windows.RawSockaddrInet6{Family: windows.AF_INET6, Addr: dst.As16()}
			n, _, e = procIcmp6SendEcho2.Call(h, 0, 0, 0, uintptr(unsafe.Pointer(&src)), uintptr(unsafe.Pointer(&to)),
				uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)), uintptr(unsafe.Pointer(&opts)),
				uintptr(unsafe.Pointer(&reply[0])), uintptr(len(reply)), uintptr(timeout))
		} else {
			a4 := dst.As4()
			n, _, e = procIcmpSendEcho2.Call(h, 0, 0, 0, uintptr(binary.LittleEndian.Uint32(a4[:])),
				uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)), uintptr(unsafe.Pointer(&opts)),
				uintptr(unsafe.Pointer(&reply[0])), uintptr(len(reply)), uintptr(timeout))
		}
		if n > 0 {
			statusAt, rttAt := echoReplyStatus, echoReplyRTT
			if v6 {
				statusAt, rttAt = echo6ReplyStatus, echo6ReplyRTT
			}
			status := binary.LittleEndian.Uint32(reply[statusAt:])
			if status == ipSuccess {
				// RoundTripTime counts whole milliseconds; the call's own
				// duration is finer (and an upper bound).
				rtt := time.Duration(binary.LittleEndian.Uint32(reply[rttAt:])) * time.Millisecond
				return max(rtt, time.Since(sent)), nil
			}
			if status != ipReqTimedOut {
				return 0, fmt.Errorf("reply status %s", ipStatusText(status))
			}
		} else {
			var errno windows.Errno
			switch {
			case !errors.As(e, &errno) || uint32(errno) == ipReqTimedOut:
				// no answer yet: try again
			case uint32(errno) >= ipStatusBase:
				return 0, errors.New(ipStatusText(uint32(errno)))
			default:
				return 0, fmt.Errorf("send: %w", e)
			}
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("no reply to %d requests within %v", tries, time.Since(start).Round(100*time.Millisecond))
		}
	}
}

// ipStatusText names an IP_STATUS code (ipexport.h).
func ipStatusText(s uint32) string {
	names := map[uint32]string{
		11001: "IP_BUF_TOO_SMALL", 11002: "IP_DEST_NET_UNREACHABLE", 11003: "IP_DEST_HOST_UNREACHABLE",
		11004: "IP_DEST_PROT_UNREACHABLE", 11005: "IP_DEST_PORT_UNREACHABLE", 11006: "IP_NO_RESOURCES",
		11007: "IP_BAD_OPTION", 11008: "IP_HW_ERROR", ipPacketTooBig: "IP_PACKET_TOO_BIG (the path's MTU is smaller)",
		ipReqTimedOut: "IP_REQ_TIMED_OUT", 11011: "IP_BAD_REQ", 11012: "IP_BAD_ROUTE", 11013: "IP_TTL_EXPIRED_TRANSIT",
		11050: "IP_GENERAL_FAILURE",
	}
	if n, ok := names[s]; ok {
		return fmt.Sprintf("%s (%d)", n, s)
	}
	return fmt.Sprintf("IP status %d", s)
}
