package quick

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

const (
	// daemonStartTimeout bounds starting the userspace device.
	daemonStartTimeout = 15 * time.Second
	// socketWait bounds waiting for its UAPI socket.
	socketWait = 5 * time.Second
	// daemonExitWait bounds waiting for it to exit once its link is gone.
	daemonExitWait = 3 * time.Second
)

// lookupTable resolves a routing table name from iproute2's rt_tables.
func lookupTable(name string) (int, bool) {
	for _, path := range []string{"/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables", "/usr/lib/iproute2/rt_tables"} {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		s := bufio.NewScanner(f)
		for s.Scan() {
			fields := strings.Fields(s.Text())
			if len(fields) >= 2 && fields[1] == name && !strings.HasPrefix(fields[0], "#") {
				if n, err := strconv.ParseUint(fields[0], 0, 32); err == nil {
					f.Close()
					return int(n), true
				}
			}
		}
		f.Close()
	}
	return 0, false
}

// resolver resolves endpoints as wg does, honouring
// WG_ENDPOINT_RESOLUTION_RETRIES.
func (e *env) resolver() (*conf.Resolver, error) {
	r := &conf.Resolver{Retries: conf.DefaultRetries, Warn: func(msg string) { e.warnf("%s", msg) }}
	if v := e.getenv("WG_ENDPOINT_RESOLUTION_RETRIES"); v != "" {
		if v == "infinity" {
			r.Retries = -1
		} else if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			r.Retries = n
		} else {
			return nil, fmt.Errorf("unable to parse WG_ENDPOINT_RESOLUTION_RETRIES: `%s': %w", v, conf.ErrInvalidValue)
		}
	}
	return r, nil
}

// lock serializes up, down and save of one interface across processes.
// remove, called while holding the lock, deletes the lock file; whoever
// waited on it retries on a fresh one.
func lock(iface string) (unlock, remove func(), err error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("lock %s: %w", iface, err)
	}
	path := filepath.Join(stateDir, iface+".lock")
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("lock %s: %w", iface, err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("lock %s: %w", iface, err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return func() { f.Close() }, func() { os.Remove(path) }, nil
		}
		f.Close() // removed meanwhile: lock the new one
	}
}

func (e *env) up(c *config) (err error) {
	iface := c.Interface
	unlock, removeLock, err := lock(iface)
	if err != nil {
		return err
	}
	defer unlock()
	defer func() {
		if err != nil {
			removeLock()
		}
	}()
	if _, err := netlink.LinkByName(iface); err == nil {
		return fmt.Errorf("`%s' %w", iface, ErrExists)
	}
	p, err := NewPlan(iface, c.File, lookupTable)
	if err != nil {
		return err
	}
	// A record without its interface is left by a device that died
	// without down: clean up after it first.
	if old, err := loadState(iface); err != nil {
		return err
	} else if old != nil {
		e.warnf("[!] Cleaning up after a previous %s that was not brought down", iface)
		if err := e.teardown(iface, old); err != nil {
			return err
		}
	}
	// Interrupted, up rolls back as wg-quick's trap does.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	interrupted := func() error {
		if ctx.Err() != nil {
			return fmt.Errorf("bring up %s: %w", iface, ErrInterrupted)
		}
		return nil
	}
	st := &state{}
	defer func() {
		if err != nil {
			if rerr := e.teardown(iface, st); rerr != nil {
				err = fmt.Errorf("%w (and rolling back: %w)", err, rerr)
			}
		}
	}()
	if err := e.hooks(p.PreUp); err != nil {
		return err
	}
	r, err := e.resolver()
	if err != nil {
		return err
	}
	cfg, err := c.File.WireGuardConfig(ctx, r, true)
	if err := interrupted(); err != nil {
		return err
	}
	if err != nil {
		return fmt.Errorf("configure %s: %w", iface, err)
	}
	if err := e.startDaemon(iface, st); err != nil {
		return err
	}
	if err := st.save(iface); err != nil {
		return err
	}
	if err := interrupted(); err != nil {
		return err
	}
	e.logf("wg setconf %s /dev/fd/63", iface)
	if err := setDevice(iface, cfg); err != nil {
		return err
	}
	link, err := netlink.LinkByName(iface)
	if err != nil {
		return fmt.Errorf("find interface %s: %w", iface, err)
	}
	for _, a := range p.Addresses {
		e.logf("ip -%d address add %s dev %s", family(a.Addr()), a, iface)
		if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipNet(a), Broadcast: net.IPv4zero}); err != nil {
			return fmt.Errorf("add address %s to %s: %w", a, iface, err)
		}
	}
	if err := interrupted(); err != nil {
		return err
	}
	if err := e.setMTUUp(link, p, cfg); err != nil {
		return err
	}
	if err := e.setDNS(p, st); err != nil {
		return err
	}
	if err := st.save(iface); err != nil {
		return err
	}
	for _, rt := range p.Routes {
		if err := interrupted(); err != nil {
			return err
		}
		if err := e.addRoute(link, p, rt, st); err != nil {
			return err
		}
	}
	if err := interrupted(); err != nil {
		return err
	}
	if err := e.hooks(p.PostUp); err != nil {
		return err
	}
	if err := interrupted(); err != nil {
		return err
	}
	if err := e.startWatcher(c, st); err != nil {
		return err
	}
	return st.save(iface)
}

// family is 4 or 6.
func family(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

func nlFamily(f int) int {
	if f == 4 {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// startDaemon starts the userspace device as wg-quick does when the kernel
// has no WireGuard: `warren daemon IFACE` (or
// $WG_QUICK_USERSPACE_IMPLEMENTATION IFACE), which puts itself in the
// background once the interface and its UAPI socket exist.
func (e *env) startDaemon(iface string, st *state) error {
	var name string
	var args []string
	if impl := e.getenv("WG_QUICK_USERSPACE_IMPLEMENTATION"); impl != "" {
		name, args = impl, []string{iface}
	} else {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("start userspace device: %w: %w", ErrDaemon, err)
		}
		name, args = exe, []string{"daemon", iface}
	}
	e.logf("%s %s", name, strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(context.Background(), daemonStartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "WG_PROCESS_FOREGROUND" && k != "WG_TUN_FD" && k != "WG_UAPI_FD" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// Files, not pipes: the background child may keep them open, and a
	// pipe would make Run wait for it.
	out, err := os.CreateTemp("", "warren-daemon-")
	if err != nil {
		return fmt.Errorf("start userspace device: %w: %w", ErrDaemon, err)
	}
	os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	runErr := cmd.Run()
	if _, err := out.Seek(0, io.SeekStart); err == nil {
		io.Copy(e.stderr, out)
	}
	if runErr != nil {
		return fmt.Errorf("start userspace device %s: %w: %w", iface, ErrDaemon, runErr)
	}
	st.Started = true
	deadline := time.Now().Add(socketWait)
	for {
		conn, err := uapi.Dial(uapi.DefaultSocketDir, iface)
		if err == nil {
			st.PID = daemonPID(iface, peerPID(conn))
			conn.Close()
			return nil
		}
		// A socket nobody listens on: the device died.
		if errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			return fmt.Errorf("reach userspace device %s: %w: %w", iface, ErrDaemon, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// peerPID is the process at the other end of a unix socket, 0 if unknown.
func peerPID(conn net.Conn) int {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return 0
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0
	}
	pid := 0
	raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			pid = int(cred.Pid)
		}
	})
	return pid
}

// daemonPID finds the process serving iface: the one that listened on its
// socket (hint) if it still runs, else — it forked into the background —
// a process whose last argument is iface and which holds a TUN device.
func daemonPID(iface string, hint int) int {
	if hint > 0 && isDaemon(hint, iface) {
		return hint
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err == nil && pid != os.Getpid() && isDaemon(pid, iface) {
			return pid
		}
	}
	return 0
}

// isDaemon reports whether pid runs with iface as its last argument and
// holds /dev/net/tun open.
func isDaemon(pid int, iface string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
	if args[len(args)-1] != iface {
		return false
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, _ := os.ReadDir(dir)
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && target == "/dev/net/tun" {
			return true
		}
	}
	return false
}

// setDevice applies cfg through UAPI.
func setDevice(iface string, cfg *wgtypes.Config) error {
	conn, err := uapi.Dial(uapi.DefaultSocketDir, iface)
	if err != nil {
		return fmt.Errorf("configure %s: %w: %w", iface, ErrDaemon, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := uapi.Set(conn, cfg); err != nil {
		return fmt.Errorf("configure %s: %w", iface, err)
	}
	return nil
}

// getDevice reads the device's state through UAPI.
func getDevice(iface string) (*wgtypes.Device, error) {
	conn, err := uapi.Dial(uapi.DefaultSocketDir, iface)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", iface, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	dev, err := uapi.Get(conn)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", iface, err)
	}
	return dev, nil
}

// linkMTU is the MTU of the link with the given index, 0 if unknown.
func linkMTU(index int) int {
	l, err := netlink.LinkByIndex(index)
	if err != nil {
		return 0
	}
	return l.Attrs().MTU
}

// routeMTU is the MTU of a route, else of its device, as wg-quick reads
// `ip route get`.
func routeMTU(r netlink.Route) int {
	if r.MTU > 0 {
		return r.MTU
	}
	return linkMTU(r.LinkIndex)
}

// setMTUUp sets the MTU — configured, or computed as wg-quick does — and
// brings the link up.
func (e *env) setMTUUp(link netlink.Link, p *Plan, cfg *wgtypes.Config) error {
	mtu := p.MTU
	if mtu == 0 {
		var mtus []int
		for _, peer := range cfg.Peers {
			if peer.Endpoint == nil {
				continue
			}
			if rs, err := netlink.RouteGet(peer.Endpoint.Addr().AsSlice()); err == nil && len(rs) > 0 {
				mtus = append(mtus, routeMTU(rs[0]))
			}
		}
		def := 0
		if rs, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: TableMain}, netlink.RT_FILTER_TABLE); err == nil {
			for _, r := range rs {
				if r.Dst == nil || isDefault(r.Dst) {
					def = routeMTU(r)
					break
				}
			}
		}
		mtu = AutoMTU(mtus, def)
	}
	e.logf("ip link set mtu %d up dev %s", mtu, p.Interface)
	if err := netlink.LinkSetMTU(link, mtu); err != nil {
		return fmt.Errorf("set MTU %d on %s: %w", mtu, p.Interface, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring %s up: %w", p.Interface, err)
	}
	return nil
}

func isDefault(n *net.IPNet) bool {
	ones, _ := n.Mask.Size()
	return ones == 0
}

// addRoute adds the route for one AllowedIPs prefix as wg-quick's add_route.
func (e *env) addRoute(link netlink.Link, p *Plan, rt netip.Prefix, st *state) error {
	fam := family(rt.Addr())
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(rt), Scope: netlink.SCOPE_LINK}
	switch {
	case p.Table == TableOff:
		return nil
	case p.Table == TableFixed:
		route.Table = p.TableID
		e.logf("ip -%d route add %s dev %s table %d", fam, rt, p.Interface, p.TableID)
	case rt.Bits() == 0:
		return e.addDefault(link, p, rt, st)
	default:
		// Skip a prefix an existing route through the link already covers
		// (the addresses' own subnets), as `ip route show dev match`.
		have, err := netlink.RouteListFiltered(nlFamily(fam), &netlink.Route{LinkIndex: link.Attrs().Index, Table: TableMain}, netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
		if err != nil {
			return fmt.Errorf("list routes of %s: %w", p.Interface, err)
		}
		for _, h := range have {
			if h.Dst == nil {
				return nil
			}
			ones, _ := h.Dst.Mask.Size()
			if ones <= rt.Bits() && h.Dst.Contains(rt.Addr().AsSlice()) {
				return nil
			}
		}
		e.logf("ip -%d route add %s dev %s", fam, rt, p.Interface)
	}
	if err := netlink.RouteAdd(route); err != nil {
		return fmt.Errorf("add route %s dev %s: %w", rt, p.Interface, err)
	}
	return nil
}

// tableInUse reports whether a routing table holds any route.
func tableInUse(table int) bool {
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := netlink.RouteListFiltered(fam, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
		if err == nil && len(rs) > 0 {
			return true
		}
	}
	return false
}

// policyRules are the two rules of a full tunnel for one family: packets
// without the tunnel's fwmark use its table, and the main table is
// consulted first for everything but its default route.
func policyRules(fam, table int) (notMarked, suppress *netlink.Rule) {
	notMarked = netlink.NewRule()
	notMarked.Family = nlFamily(fam)
	notMarked.Invert = true
	notMarked.Mark = uint32(table)
	notMarked.Table = table
	suppress = netlink.NewRule()
	suppress.Family = nlFamily(fam)
	suppress.Table = TableMain
	suppress.SuppressPrefixlen = 0
	return notMarked, suppress
}

// addDefault routes a /0 through wg-quick's policy routing: the device
// marks its own packets with the table's number, so only they bypass it.
func (e *env) addDefault(link netlink.Link, p *Plan, rt netip.Prefix, st *state) error {
	iface := p.Interface
	if st.Table == 0 {
		dev, err := getDevice(iface)
		if err != nil {
			return err
		}
		table := int(dev.FwMark)
		if table == 0 {
			table = DefaultPolicyTable
			for tableInUse(table) {
				table++
			}
			e.logf("wg set %s fwmark %d", iface, table)
			mark := uint32(table)
			if err := setDevice(iface, &wgtypes.Config{FwMark: &mark}); err != nil {
				return err
			}
		}
		st.Table = table
	}
	fam := family(rt.Addr())
	e.logf("ip -%d route add %s dev %s table %d", fam, rt, iface, st.Table)
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(rt), Scope: netlink.SCOPE_LINK, Table: st.Table}
	if err := netlink.RouteAdd(route); err != nil {
		return fmt.Errorf("add route %s dev %s table %d: %w", rt, iface, st.Table, err)
	}
	notMarked, suppress := policyRules(fam, st.Table)
	e.logf("ip -%d rule add not fwmark %d table %d", fam, st.Table, st.Table)
	if err := netlink.RuleAdd(notMarked); err != nil {
		return fmt.Errorf("add rule not fwmark %d table %d: %w", st.Table, st.Table, err)
	}
	st.Rules = append(st.Rules, fam)
	if err := st.save(iface); err != nil {
		return err
	}
	e.logf("ip -%d rule add table main suppress_prefixlength 0", fam)
	if err := netlink.RuleAdd(suppress); err != nil {
		return fmt.Errorf("add rule table main suppress_prefixlength 0: %w", err)
	}
	addrs, err := netlink.AddrList(link, nlFamily(fam))
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", iface, err)
	}
	var as []netip.Addr
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			as = append(as, ip.Unmap())
		}
	}
	if err := e.addFirewall(iface, fam, st.Table, as, st); err != nil {
		return err
	}
	return st.save(iface)
}

// deleteRules removes the policy rules recorded in st.
func (e *env) deleteRules(st *state) error {
	var errs []error
	for _, fam := range st.Rules {
		notMarked, suppress := policyRules(fam, st.Table)
		e.logf("ip -%d rule delete table %d", fam, st.Table)
		if err := netlink.RuleDel(notMarked); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("delete rule table %d: %w", st.Table, err))
		}
		e.logf("ip -%d rule delete table main suppress_prefixlength 0", fam)
		if err := netlink.RuleDel(suppress); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("delete rule table main suppress_prefixlength 0: %w", err))
		}
	}
	st.Rules = nil
	return errors.Join(errs...)
}

// teardown undoes what st records for iface, in the order of wg-quick's
// del_if: DNS, firewall, rules, the link (which stops the device), then
// whatever the device left.
func (e *env) teardown(iface string, st *state) error {
	var errs []error
	stopWatcher(iface, st)
	if err := e.unsetDNS(iface, st); err != nil {
		errs = append(errs, err)
	}
	if st.Firewall != "" {
		if err := e.removeFirewall(iface); err != nil {
			errs = append(errs, err)
		}
	}
	if err := e.deleteRules(st); err != nil {
		errs = append(errs, err)
	}
	// Only a link of ours: a failed up must not take down someone else's.
	if link, err := netlink.LinkByName(iface); err == nil && st.Started {
		e.logf("ip link delete dev %s", iface)
		// The link may vanish meanwhile with its dying device.
		if err := netlink.LinkDel(link); err != nil && !errors.Is(err, syscall.ENODEV) {
			errs = append(errs, fmt.Errorf("delete interface %s: %w", iface, err))
		}
	}
	if err := waitDaemon(iface, st.PID); err != nil {
		errs = append(errs, err)
	}
	if err := removeStaleSocket(iface); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if err := removeState(iface); err != nil {
			errs = append(errs, err)
		}
	} else {
		st.save(iface)
	}
	return errors.Join(errs...)
}

// waitDaemon waits for the device process to exit after its link went
// away, and stops it if it does not.
func waitDaemon(iface string, pid int) error {
	if pid <= 0 {
		return nil
	}
	alive := func() bool {
		// The pid is ours only while its command line names iface.
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			return false
		}
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if _, rest, ok := strings.Cut(string(stat), ") "); ok && strings.HasPrefix(rest, "Z") {
				return false
			}
		}
		return slices.Contains(strings.Split(string(cmdline), "\x00"), iface)
	}
	waitGone := func() bool {
		for deadline := time.Now().Add(daemonExitWait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if !alive() {
				return true
			}
		}
		return !alive()
	}
	if !waitGone() {
		syscall.Kill(pid, syscall.SIGTERM)
		waitGone()
	}
	if alive() {
		return fmt.Errorf("userspace device of %s (pid %d) does not exit: %w", iface, pid, ErrDaemon)
	}
	return nil
}

// removeStaleSocket removes the UAPI socket file of a device that is gone.
func removeStaleSocket(iface string) error {
	path := filepath.Join(uapi.DefaultSocketDir, iface+".sock")
	if _, err := os.Lstat(path); err != nil {
		return nil
	}
	conn, err := uapi.Dial(uapi.DefaultSocketDir, iface)
	if err == nil {
		conn.Close()
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}

// hooks runs commands with bash, as wg-quick's execute_hooks.
func (e *env) hooks(cmds []string) error {
	shell := "bash"
	if _, err := exec.LookPath(shell); err != nil {
		shell = "sh"
	}
	for _, h := range cmds {
		e.logf("%s", h)
		cmd := exec.Command(shell, "-c", h)
		cmd.Stdin = nil
		cmd.Stdout, cmd.Stderr = e.stdout, e.stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("`%s': %w: %w", h, ErrHook, err)
		}
	}
	return nil
}

func (e *env) down(c *config) (err error) {
	iface := c.Interface
	unlock, removeLock, err := lock(iface)
	if err != nil {
		return err
	}
	defer unlock()
	defer func() {
		if err == nil || errors.Is(err, ErrNotWireGuard) {
			removeLock()
		}
	}()
	st, err := loadState(iface)
	if err != nil {
		return err
	}
	dev, devErr := getDevice(iface)
	if st == nil && devErr != nil {
		return fmt.Errorf("`%s' is %w", iface, ErrNotWireGuard)
	}
	p, err := NewPlan(iface, c.File, lookupTable)
	if err != nil {
		return err
	}
	if err := e.hooks(p.PreDown); err != nil {
		return err
	}
	if c.File.Interface.SaveConfig && devErr == nil {
		if err := e.saveConfig(c, dev, st); err != nil {
			return err
		}
	}
	if st == nil {
		// Brought up by wg-quick: find its policy rules as wg-quick does.
		st = &state{Started: true}
		if devErr == nil && dev.FwMark != 0 && p.PolicyRoutes() {
			st.Table = int(dev.FwMark)
			for _, rt := range p.Routes {
				if rt.Bits() == 0 {
					st.Rules = append(st.Rules, family(rt.Addr()))
				}
			}
		}
		if len(p.DNS) > 0 {
			if _, err := exec.LookPath("resolvconf"); err == nil {
				st.DNS, st.ResolvconfName = "resolvconf", resolvconfIfacePrefix()+iface
			}
		}
	}
	st.Firewall = "any"
	if err := e.teardown(iface, st); err != nil {
		return err
	}
	return e.hooks(p.PostDown)
}

func (e *env) save(c *config) error {
	st, err := loadState(c.Interface)
	if err != nil {
		return err
	}
	dev, err := getDevice(c.Interface)
	if err != nil {
		return fmt.Errorf("`%s' is %w: %w", c.Interface, ErrNotWireGuard, err)
	}
	return e.saveConfig(c, dev, st)
}

// saveConfig writes the running configuration back to c.Path as wg-quick's
// save_config: the link's addresses, the DNS set, the MTU if the file set
// one, the file's Table, SaveConfig and hooks, then what the device holds.
func (e *env) saveConfig(c *config, dev *wgtypes.Device, st *state) error {
	in := c.File.Interface
	f := conf.FromDevice(dev)
	link, err := netlink.LinkByName(c.Interface)
	if err != nil {
		return fmt.Errorf("save %s: %w", c.Interface, err)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("save %s: list addresses: %w", c.Interface, err)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		pfx := netip.PrefixFrom(ip.Unmap(), ones)
		// The kernel's own link-local addresses are not the user's.
		if ip.Is6() && ip.IsLinkLocalUnicast() && !slices.Contains(in.Addresses, pfx) {
			continue
		}
		f.Interface.Addresses = append(f.Interface.Addresses, pfx)
	}
	if st != nil && st.DNS != "" {
		f.Interface.DNS, f.Interface.DNSSearch = in.DNS, in.DNSSearch
	}
	if in.MTU != 0 {
		f.Interface.MTU = link.Attrs().MTU
	}
	f.Interface.Table = in.Table
	f.Interface.SaveConfig = in.SaveConfig
	f.Interface.PreUp, f.Interface.PostUp = in.PreUp, in.PostUp
	f.Interface.PreDown, f.Interface.PostDown = in.PreDown, in.PostDown

	tmp := c.Path + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("could not write configuration file: %w", err)
	}
	werr := conf.Write(out, f)
	if werr == nil {
		werr = out.Sync()
	}
	if cerr := out.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, c.Path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("could not write configuration file %s: %w", c.Path, werr)
	}
	return nil
}
