package selftest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/tun"
)

// adapterPattern names the TUN interface; the kernel replaces %d with the
// first free number.
const adapterPattern = "wrnst%d"

// linuxHost is the selftest's view of Linux: netlink for addresses and
// routes, /dev/net/tun for the adapter, raw sockets for ping, all in the
// network namespace netns ("" for the current one).
type linuxHost struct {
	netns string // path of the namespace's handle, or ""
}

func newHost(opts Options) (host, error) {
	if opts.KillSwitch {
		return nil, fmt.Errorf("%w: the kill switch check is Windows-only (warren up's nftables rules are tested end to end elsewhere)", ErrUnsupported)
	}
	h := &linuxHost{}
	if opts.Netns != "" {
		path := opts.Netns
		if !strings.ContainsRune(path, '/') {
			path = "/run/netns/" + path
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("network namespace %q: %w (create it first, e.g. ip netns add NAME)", opts.Netns, err)
		}
		h.netns = path
	}
	return h, nil
}

// do runs fn in the host's network namespace: on an OS thread switched
// into it, which is discarded afterwards. Sockets and interfaces fn
// creates stay in the namespace.
func (h *linuxHost) do(fn func() error) error {
	if h.netns == "" {
		return fn()
	}
	f, err := os.Open(h.netns)
	if err != nil {
		return fmt.Errorf("network namespace: %w", err)
	}
	defer f.Close()
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine, so no other
		// goroutine ever runs in the namespace by accident.
		runtime.LockOSThread()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter network namespace %s: %w", h.netns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

func (h *linuxHost) about() []Fact {
	var facts []Fact
	if name := osRelease(); name != "" {
		facts = append(facts, Fact{"os", name})
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		facts = append(facts, Fact{"kernel", fmt.Sprintf("%s %s %s %s", unix.ByteSliceToString(u.Sysname[:]),
			unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Version[:]), unix.ByteSliceToString(u.Machine[:]))})
	}
	return facts
}

// osRelease is PRETTY_NAME from os-release(5), or "".
func osRelease() string {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if v, ok := strings.CutPrefix(s.Text(), "PRETTY_NAME="); ok {
				return strings.Trim(v, `"'`)
			}
		}
	}
	return ""
}

func (h *linuxHost) privileged() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: warren selftest creates a TUN interface, so it must run as root (sudo warren selftest)", ErrNotPrivileged)
	}
	return nil
}

// handle opens a netlink handle in the host's namespace.
func (h *linuxHost) handle() (*netlink.Handle, error) {
	var nl *netlink.Handle
	err := h.do(func() error {
		var err error
		nl, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return nl, nil
}

func (h *linuxHost) usedPrefixes() ([]netip.Prefix, error) {
	nl, err := h.handle()
	if err != nil {
		return nil, err
	}
	defer nl.Close()
	var used []netip.Prefix
	routes, err := nl.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		if p, ok := ipNetPrefix(r.Dst); ok {
			used = append(used, p)
		}
	}
	addrs, err := nl.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if p, ok := ipNetPrefix(a.IPNet); ok {
			used = append(used, p, netip.PrefixFrom(p.Addr(), p.Addr().BitLen()))
		}
	}
	return used, nil
}

func ipNetPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, bits := n.Mask.Size()
	if bits == 0 {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	if a.Is4() && bits == 128 {
		ones -= 96
	}
	return netip.PrefixFrom(a, ones), true
}

func prefixIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func (h *linuxHost) driver() (string, []Fact, error) {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		return "", nil, fmt.Errorf("open /dev/net/tun: %w (is the tun module loaded? modprobe tun)", err)
	}
	f.Close()
	return "/dev/net/tun opens: the kernel's TUN driver is there", nil, nil
}

// linuxAdapter is a TUN interface with the engine on it.
type linuxAdapter struct {
	h      *linuxHost
	ifname string
	tdev   tun.Device
	dev    *device.Device
	nl     *netlink.Handle
	v6err  error
	tunOpt tun.Options
	udpOpt bind.StdOptions
}

func (h *linuxHost) up(ctx context.Context, sp *spec, logger *device.Logger) (_ adapter, err error) {
	a := &linuxAdapter{
		h:      h,
		tunOpt: tun.Options{NoOffload: os.Getenv("WARREN_TUN_OFFLOAD") == "0"},
		udpOpt: bind.StdOptions{NoGSO: os.Getenv("WARREN_UDP_GSO") == "0", NoGRO: os.Getenv("WARREN_UDP_GRO") == "0"},
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, a.close())
		}
	}()
	err = h.do(func() error {
		var err error
		a.tdev, err = tun.CreateWithOptions(adapterPattern, sp.mtu, a.tunOpt)
		return err
	})
	if err != nil {
		return nil, err
	}
	if a.ifname, err = a.tdev.Name(); err != nil {
		return nil, err
	}
	if a.nl, err = h.handle(); err != nil {
		return nil, err
	}
	cfg, err := sp.config().WireGuardConfig(ctx, nil, true)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	// The engine's UDP socket opens in this thread's namespace: with
	// --netns, the encrypted packets stay on the outer loopback.
	if a.dev, err = device.New(a.tdev, bind.NewStdWithOptions(a.udpOpt), device.Options{Logger: logger}); err != nil {
		return nil, fmt.Errorf("start engine: %w", err)
	}
	if err = a.dev.Apply(cfg); err != nil {
		return nil, fmt.Errorf("configure engine: %w", err)
	}
	if err = a.dev.Up(); err != nil {
		return nil, fmt.Errorf("bring engine up: %w", err)
	}
	link, err := a.nl.LinkByName(a.ifname)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", a.ifname, err)
	}
	for _, f := range sp.families() {
		ad := &netlink.Addr{IPNet: prefixIPNet(f.Local)}
		if f.Local.Addr().Is6() {
			ad.Flags = unix.IFA_F_NODAD
		}
		if err := a.nl.AddrAdd(link, ad); err != nil {
			if f.Local.Addr().Is6() && errors.Is(err, unix.EACCES) {
				a.v6err = fmt.Errorf("IPv6 is disabled on %s (sysctl net.ipv6.conf.*.disable_ipv6): adding %v: %w", a.ifname, f.Local, err)
				continue
			}
			return nil, fmt.Errorf("add address %v to %s: %w", f.Local, a.ifname, err)
		}
	}
	if err := a.nl.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("bring %s up: %w", a.ifname, err)
	}
	return a, nil
}

func (a *linuxAdapter) name() string           { return a.ifname }
func (a *linuxAdapter) device() *device.Device { return a.dev }
func (a *linuxAdapter) ipv6() error            { return a.v6err }
func (a *linuxAdapter) killSwitch() killSwitch { return nil }

func (a *linuxAdapter) facts() []Fact {
	where := "this network namespace"
	if a.h.netns != "" {
		where = "network namespace " + a.h.netns
	}
	facts := []Fact{{"adapter", fmt.Sprintf("%s, a Linux TUN interface in %s", a.ifname, where)}}
	facts = append(facts, Fact{"TUN offloads", a.tunOffloads()})
	udp := "UDP GSO and GRO where the kernel has them"
	switch {
	case a.udpOpt.NoGSO && a.udpOpt.NoGRO:
		udp = "UDP GSO and GRO off (WARREN_UDP_GSO=0, WARREN_UDP_GRO=0)"
	case a.udpOpt.NoGSO:
		udp = "UDP GSO off (WARREN_UDP_GSO=0), GRO where the kernel has it"
	case a.udpOpt.NoGRO:
		udp = "UDP GRO off (WARREN_UDP_GRO=0), GSO where the kernel has it"
	}
	return append(facts, Fact{"UDP offloads", udp})
}

// tunOffloads describes the queue's virtio-net header and the offloads
// the kernel has turned on for the interface (ethtool's feature names).
func (a *linuxAdapter) tunOffloads() string {
	var parts []string
	if a.tunOpt.NoOffload {
		parts = append(parts, "off (WARREN_TUN_OFFLOAD=0)")
	}
	flags, err := tunFlags(a.tdev)
	switch {
	case err != nil:
		parts = append(parts, fmt.Sprintf("virtio-net header unknown (%v)", err))
	case flags&unix.IFF_VNET_HDR != 0:
		parts = append(parts, "virtio-net header on (IFF_VNET_HDR): the kernel hands over TCP/UDP super-packets, warren merges TCP segments it writes")
	default:
		parts = append(parts, "virtio-net header off: one packet per read and write")
	}
	var feats map[string]bool
	err = a.h.do(func() error {
		var err error
		feats, err = ethtoolFeatures(a.ifname)
		return err
	})
	if err != nil {
		parts = append(parts, fmt.Sprintf("kernel features unknown (%v)", err))
	} else {
		var fs []string
		for _, n := range tunFeatureNames {
			state := "off"
			if on, ok := feats[n]; !ok {
				state = "absent"
			} else if on {
				state = "on"
			}
			fs = append(fs, n+" "+state)
		}
		parts = append(parts, "kernel: "+strings.Join(fs, ", "))
	}
	return strings.Join(parts, "\n")
}

// tunFeatureNames are the netdev features TUNSETOFFLOAD controls.
var tunFeatureNames = []string{"tx-checksum-ip-generic", "tx-tcp-segmentation", "tx-tcp6-segmentation", "tx-udp-segmentation"}

// tunFlags reads the queue's TUN flags (TUNGETIFF).
func tunFlags(d tun.Device) (uint16, error) {
	fh, ok := d.(interface{ File() *os.File })
	if !ok {
		return 0, errors.New("not a kernel TUN queue")
	}
	rc, err := fh.File().SyscallConn()
	if err != nil {
		return 0, err
	}
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return 0, err
	}
	cerr := rc.Control(func(fd uintptr) { err = unix.IoctlIfreq(int(fd), unix.TUNGETIFF, ifr) })
	if err = errors.Join(cerr, err); err != nil {
		return 0, fmt.Errorf("TUNGETIFF: %w", err)
	}
	return ifr.Uint16(), nil
}

func (a *linuxAdapter) addresses() ([]netip.Prefix, error) {
	link, err := a.nl.LinkByName(a.ifname)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", a.ifname, err)
	}
	addrs, err := a.nl.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", a.ifname, err)
	}
	var ps []netip.Prefix
	for _, ad := range addrs {
		if p, ok := ipNetPrefix(ad.IPNet); ok {
			ps = append(ps, p)
		}
	}
	return ps, nil
}

func (a *linuxAdapter) routeVia(dst netip.Addr) (string, error) {
	rs, err := a.nl.RouteGet(dst.AsSlice())
	if errors.Is(err, unix.ENETUNREACH) || errors.Is(err, unix.EHOSTUNREACH) {
		return "", fmt.Errorf("the kernel has no route to %v: %w", dst, err)
	}
	if err != nil {
		return "", fmt.Errorf("ask the kernel for the route to %v: %w", dst, err)
	}
	if len(rs) == 0 {
		return "", fmt.Errorf("the kernel has no route to %v", dst)
	}
	if rs[0].LinkIndex == 0 {
		return fmt.Sprintf("no interface (route type %d)", rs[0].Type), nil
	}
	link, err := a.nl.LinkByIndex(rs[0].LinkIndex)
	if err != nil {
		return "", fmt.Errorf("interface %d of the route to %v: %w", rs[0].LinkIndex, dst, err)
	}
	return link.Attrs().Name, nil
}

func (a *linuxAdapter) mtu() (int, error) {
	link, err := a.nl.LinkByName(a.ifname)
	if err != nil {
		return 0, fmt.Errorf("find %s: %w", a.ifname, err)
	}
	return link.Attrs().MTU, nil
}

func (a *linuxAdapter) dial(ctx context.Context, network, address string) (net.Conn, error) {
	var c net.Conn
	err := a.h.do(func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, address)
		return err
	})
	return c, err
}

func (a *linuxAdapter) close() error {
	var errs []error
	switch {
	case a.dev != nil:
		errs = append(errs, a.dev.Close()) // closes the TUN queue: the kernel deletes the interface
		a.dev, a.tdev = nil, nil
	case a.tdev != nil:
		errs = append(errs, a.tdev.Close())
		a.tdev = nil
	}
	if a.nl != nil {
		a.nl.Close()
		a.nl = nil
	}
	return errors.Join(errs...)
}

// goneWait bounds how long the kernel may take to delete the interface.
const goneWait = 3 * time.Second

func (a *linuxAdapter) gone() error {
	nl, err := a.h.handle()
	if err != nil {
		return err
	}
	defer nl.Close()
	deadline := time.Now().Add(goneWait)
	for {
		_, err := nl.LinkByName(a.ifname)
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("check that %s is gone: %w", a.ifname, err)
			}
			return fmt.Errorf("%s still exists %v after the engine closed it", a.ifname, goneWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
