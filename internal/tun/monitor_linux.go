package tun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// netlinkBufSize holds a read of link messages; each is a few hundred
// bytes to a few kilobytes.
const netlinkBufSize = 64 << 10

// Pauses before retrying to follow the link after a failure (e.g. while
// its new namespace is being set up, or when we may not enter it): they
// start short and double up to the maximum.
const (
	resubscribeDelay    = 50 * time.Millisecond
	maxResubscribeDelay = 5 * time.Second
)

// subscribe opens an rtnetlink socket in the interface's current
// namespace, joined to the link group, and then reads the link's state.
func (d *linuxDevice) subscribe() (*os.File, linkState, error) {
	nsfd, err := d.devNetns()
	if err != nil {
		return nil, linkState{}, err
	}
	var subNS netnsID
	if nsfd >= 0 {
		subNS, err = netnsIdentity(nsfd)
	}
	var fd int
	if err == nil {
		fd, err = socketInNetns(nsfd, unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	}
	if nsfd >= 0 {
		unix.Close(nsfd)
	}
	if err != nil {
		return nil, linkState{}, fmt.Errorf("rtnetlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK}); err != nil {
		unix.Close(fd)
		return nil, linkState{}, fmt.Errorf("rtnetlink subscribe to links: %w", err)
	}
	sub := os.NewFile(uintptr(fd), "rtnetlink")
	d.mu.Lock()
	if d.isEnd {
		d.mu.Unlock()
		sub.Close()
		return nil, linkState{}, os.ErrClosed
	}
	if d.sub != nil {
		d.sub.Close()
	}
	d.sub = sub
	d.mu.Unlock()
	st, err := d.state()
	if err != nil {
		return nil, linkState{}, err
	}
	if st.ns != subNS {
		// The link moved on while we subscribed: try again.
		return nil, linkState{}, fmt.Errorf("tun %s: moved to another netns while subscribing", d.label)
	}
	return sub, st, nil
}

// monitor turns rtnetlink link messages into Events until Close. It starts
// with the subscription and state newLinuxDevice read, and reports EventUp
// at once if the link is already up.
func (d *linuxDevice) monitor(sub *os.File, st linkState) {
	defer close(d.monitorDone)
	defer close(d.events)
	cur := linkState{index: st.index, ns: st.ns, mtu: st.mtu}
	if !d.report(&cur, st) {
		return
	}
	buf := make([]byte, netlinkBufSize)
	for {
		moved, err := d.follow(sub, &cur, buf)
		if !moved && err == nil {
			return // closed
		}
		// The link left this namespace (or the subscription failed):
		// find it again where it is now.
		for delay := resubscribeDelay; ; delay = min(2*delay, maxResubscribeDelay) {
			select {
			case <-d.closed:
				return
			default:
			}
			var next linkState
			sub, next, err = d.subscribe()
			if err == nil {
				if !d.report(&cur, next) {
					return
				}
				break
			}
			if errors.Is(err, os.ErrClosed) {
				// Deleted (or we are closing): the link is down for good.
				d.report(&cur, linkState{index: cur.index, ns: cur.ns, mtu: cur.mtu})
				<-d.closed
				return
			}
			select {
			case <-d.closed:
				return
			case <-time.After(delay):
			}
		}
	}
}

// follow reads link messages from sub and reports changes of the link
// until it leaves the namespace (moved is true), sub fails (err), or the
// device is closed (neither).
func (d *linuxDevice) follow(sub *os.File, cur *linkState, buf []byte) (moved bool, err error) {
	for {
		n, err := sub.Read(buf)
		if err != nil {
			select {
			case <-d.closed:
				return false, nil
			default:
			}
			if errors.Is(err, unix.ENOBUFS) {
				// Messages were lost: read the state afresh.
				st, err := d.state()
				if err != nil {
					return false, err
				}
				if !d.report(cur, st) {
					return false, nil
				}
				continue
			}
			return false, fmt.Errorf("rtnetlink read: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			continue // a message we cannot parse is not about us
		}
		for i := range msgs {
			m := &msgs[i]
			if len(m.Data) < unix.SizeofIfInfomsg {
				continue
			}
			info := (*unix.IfInfomsg)(unsafe.Pointer(&m.Data[0]))
			if info.Index != cur.index {
				continue
			}
			switch m.Header.Type {
			case unix.RTM_DELLINK:
				return true, nil
			case unix.RTM_NEWLINK:
				st := linkState{index: info.Index, ns: cur.ns, up: isUp(info.Flags), mtu: cur.mtu}
				if mtu, ok := attrMTU(m); ok {
					st.mtu = mtu
				}
				if !d.report(cur, st) {
					return false, nil
				}
			}
		}
	}
}

// attrMTU finds IFLA_MTU in a link message.
func attrMTU(m *syscall.NetlinkMessage) (int, bool) {
	attrs, err := syscall.ParseNetlinkRouteAttr(m)
	if err != nil {
		return 0, false
	}
	for _, a := range attrs {
		if a.Attr.Type == unix.IFLA_MTU && len(a.Value) >= 4 {
			return int(binary.NativeEndian.Uint32(a.Value)), true
		}
	}
	return 0, false
}

// report sends the events that lead from *cur to next and records next.
// It returns false once the device is closed.
func (d *linuxDevice) report(cur *linkState, next linkState) bool {
	var evs []Event
	if next.up != cur.up {
		if next.up {
			evs = append(evs, EventUp)
		} else {
			evs = append(evs, EventDown)
		}
	}
	if next.mtu != cur.mtu {
		evs = append(evs, EventMTUUpdate)
	}
	*cur = next
	for _, e := range evs {
		select {
		case d.events <- e:
		case <-d.closed:
			return false
		}
	}
	return true
}
