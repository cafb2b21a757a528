package quick

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/safedir"
)

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
	if err := ensureStateDir(); err != nil {
		return nil, nil, fmt.Errorf("lock %s: %w", iface, err)
	}
	path := filepath.Join(stateDir, iface+".lock")
	for {
		f, err := safedir.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
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
		return fmt.Errorf("interface %s %w", iface, ErrExists)
	}
	p, err := NewPlan(iface, c.File, lookupTable)
	if err != nil {
		return err
	}
	if err := checkHookSource(c.Path, c.hookCount()); err != nil {
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
	if err := waitDaemon(iface, st.PID, st.PIDStart); err != nil {
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
	if devErr != nil {
		e.warnf("[!] The userspace device of `%s' is gone; removing what it left behind", iface)
	}
	p, err := NewPlan(iface, c.File, lookupTable)
	if err != nil {
		return err
	}
	// A tunnel must still come down when its file has become unsafe since
	// up: its hooks are skipped, loudly, and the rest is undone.
	if err := checkHookSource(c.Path, c.hookCount()); err != nil {
		e.warnf("[!] Not running PreDown and PostDown: %v", err)
		p.PreDown, p.PostDown = nil, nil
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
		if devErr == nil && dev.FwMark != 0 && p.Table == TableAuto {
			st.Table = int(dev.FwMark)
			for _, peer := range dev.Peers {
				for _, a := range peer.AllowedIPs {
					if fam := family(a.Addr()); a.Bits() == 0 && !slices.Contains(st.Rules, fam) {
						st.Rules = append(st.Rules, fam)
					}
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

// logf prints one progress line to stderr, as wg-quick prints "[#] cmd".
func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "[#] "+format+"\n", args...)
}
