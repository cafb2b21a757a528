package selftest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.zx2c4.com/wintun"
	"golang.zx2c4.com/wireguard/windows/tunnel/winipcfg"

	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/winnet"
	"github.com/warren-vpn/warren/internal/wintunnel"
)

// adapterName is the Wintun adapter's name (and the tunnel's, for the
// kill switch's WFP sublayer).
const adapterName = "warren-selftest"

// windowsHost is the selftest's view of Windows: the tunnel comes up
// through internal/wintunnel exactly as the tunnel service brings one up
// (Wintun adapter, bind, engine, winnet's addresses and routes), and is
// read back through the IP Helper API.
type windowsHost struct{}

func newHost(opts Options) (host, error) {
	if opts.Netns != "" {
		return nil, fmt.Errorf("%w: --netns is Linux-only", ErrUnsupported)
	}
	return windowsHost{}, nil
}

func (windowsHost) about() []Fact {
	v := windows.RtlGetVersion()
	kernel := fmt.Sprintf("Windows NT %d.%d build %d", v.MajorVersion, v.MinorVersion, v.BuildNumber)
	name := "Windows"
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows NT\CurrentVersion`, registry.QUERY_VALUE); err == nil {
		defer k.Close()
		if s, _, err := k.GetStringValue("ProductName"); err == nil {
			name = s
		}
		if s, _, err := k.GetStringValue("DisplayVersion"); err == nil {
			name += " " + s
		}
		if ubr, _, err := k.GetIntegerValue("UBR"); err == nil {
			kernel = fmt.Sprintf("Windows NT %d.%d build %d.%d", v.MajorVersion, v.MinorVersion, v.BuildNumber, ubr)
		}
	}
	return []Fact{{"os", name}, {"kernel", kernel}}
}

func (windowsHost) privileged() error {
	if !windows.GetCurrentProcessToken().IsElevated() {
		return fmt.Errorf("%w: warren selftest creates a Wintun adapter, so it must run from an elevated prompt (right-click Terminal or Command Prompt, \"Run as administrator\")", ErrNotPrivileged)
	}
	return nil
}

func (windowsHost) usedPrefixes() ([]netip.Prefix, error) {
	routes, err := winipcfg.GetIPForwardTable2(windows.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("route table: %w", err)
	}
	var used []netip.Prefix
	for i := range routes {
		if p := routes[i].DestinationPrefix.Prefix(); p.IsValid() {
			used = append(used, p)
		}
	}
	addrs, err := winipcfg.GetUnicastIPAddressTable(windows.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("address table: %w", err)
	}
	for i := range addrs {
		a := addrs[i].Address.Addr()
		if !a.IsValid() {
			continue
		}
		if p := netip.PrefixFrom(a, int(addrs[i].OnLinkPrefixLength)); p.IsValid() {
			used = append(used, p.Masked())
		}
		used = append(used, netip.PrefixFrom(a, a.BitLen()))
	}
	return used, nil
}

func (windowsHost) driver() (string, []Fact, error) { return wintunDriver() }

// winAdapter is the tunnel wintunnel brought up.
type winAdapter struct {
	t     *wintunnel.Tunnel
	luid  winipcfg.LUID
	alias string
	sp    *spec

	mu       sync.Mutex
	warnings []string
}

func (windowsHost) up(ctx context.Context, sp *spec, logger *device.Logger) (adapter, error) {
	a := &winAdapter{sp: sp}
	owner, err := userSID()
	if err != nil {
		return nil, err
	}
	// The throwaway tunnel takes no default route, so its plan has no
	// kill switch; the owner is named all the same, as for any tunnel not
	// run by a service.
	t, err := wintunnel.Up(ctx, adapterName, sp.config(), wintunnel.Options{Logger: logger, Warn: a.warn, OwnerSID: owner, NameGUID: true})
	if err != nil {
		return nil, err
	}
	a.t, a.luid, a.alias = t, winipcfg.LUID(t.LUID()), adapterName
	if row, err := a.luid.Interface(); err == nil {
		a.alias = row.Alias()
	}
	a.waitPreferred(ctx)
	return a, nil
}

// preferredWait bounds how long up waits for the adapter's addresses to
// become usable as sources.
const preferredWait = 5 * time.Second

// waitPreferred waits until each of the tunnel's addresses is on the
// adapter in the preferred state (duplicate address detection done), so
// that the checks do not race Windows taking them into use; the
// addresses check reports any that never got there.
func (a *winAdapter) waitPreferred(ctx context.Context) {
	deadline := time.Now().Add(preferredWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		rows, err := winipcfg.GetUnicastIPAddressTable(windows.AF_UNSPEC)
		if err != nil {
			return
		}
		ready := 0
		for _, f := range a.sp.families() {
			for i := range rows {
				if rows[i].InterfaceLUID == a.luid && rows[i].Address.Addr() == f.Local.Addr() && rows[i].DadState == winipcfg.DadStatePreferred {
					ready++
				}
			}
		}
		if ready == len(a.sp.families()) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (a *winAdapter) warn(msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.warnings = append(a.warnings, msg)
}

func (a *winAdapter) name() string           { return a.alias }
func (a *winAdapter) device() *device.Device { return a.t.Device() }

func (a *winAdapter) facts() []Fact {
	facts := []Fact{{"adapter", fmt.Sprintf("%s, a Wintun adapter (LUID %#x)", a.alias, uint64(a.luid))}}
	// The adapter exists, so internal/tun has verified and loaded
	// wintun.dll: the wintun package's lazy load gets that module.
	if v, err := wintun.RunningVersion(); err == nil {
		facts = append(facts, Fact{"Wintun driver", fmt.Sprintf("%d.%d running", v>>16, v&0xffff)})
	} else {
		facts = append(facts, Fact{"Wintun driver", fmt.Sprintf("version unknown (%v)", err)})
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.warnings) > 0 {
		facts = append(facts, Fact{"tunnel warnings", strings.Join(a.warnings, "\n")})
	}
	return facts
}

func (a *winAdapter) ipv6() error {
	if _, err := a.luid.IPInterface(windows.AF_INET6); err != nil {
		return fmt.Errorf("TCP/IP has no IPv6 interface on %s (IPv6 disabled?): %w", a.alias, err)
	}
	return nil
}

// addresses are the adapter's addresses that are in use (preferred: not
// tentative, duplicate or deprecated).
func (a *winAdapter) addresses() ([]netip.Prefix, error) {
	rows, err := winipcfg.GetUnicastIPAddressTable(windows.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("address table: %w", err)
	}
	var ps []netip.Prefix
	for i := range rows {
		if rows[i].InterfaceLUID == a.luid && rows[i].DadState == winipcfg.DadStatePreferred {
			ps = append(ps, netip.PrefixFrom(rows[i].Address.Addr(), int(rows[i].OnLinkPrefixLength)))
		}
	}
	return ps, nil
}

var procGetBestRoute2 = modiphlpapi.NewProc("GetBestRoute2")

func (a *winAdapter) routeVia(dst netip.Addr) (string, error) {
	var to, src winipcfg.RawSockaddrInet
	if err := to.SetAddr(dst); err != nil {
		return "", err
	}
	var row winipcfg.MibIPforwardRow2
	if err := procGetBestRoute2.Find(); err != nil {
		return "", err
	}
	r, _, _ := procGetBestRoute2.Call(0, 0, 0, uintptr(unsafe.Pointer(&to)), 0, uintptr(unsafe.Pointer(&row)), uintptr(unsafe.Pointer(&src)))
	if r != 0 {
		return "", fmt.Errorf("no route to %v: GetBestRoute2: %w", dst, windows.Errno(r))
	}
	if row.InterfaceLUID == a.luid {
		return a.alias, nil
	}
	if ifr, err := row.InterfaceLUID.Interface(); err == nil {
		return ifr.Alias(), nil
	}
	return fmt.Sprintf("interface LUID %#x", uint64(row.InterfaceLUID)), nil
}

func (a *winAdapter) mtu() (int, error) {
	row, err := a.luid.IPInterface(windows.AF_INET)
	if err != nil {
		return 0, fmt.Errorf("IPv4 interface of %s: %w", a.alias, err)
	}
	return int(row.NLMTU), nil
}

func (a *winAdapter) dial(ctx context.Context, network, address string) (net.Conn, error) {
	return (&net.Dialer{}).DialContext(ctx, network, address)
}

func (a *winAdapter) killSwitch() killSwitch { return &winKillSwitch{a: a} }

func (a *winAdapter) close() error {
	if a.t == nil {
		return nil
	}
	err := a.t.Close()
	a.t = nil
	return err
}

func (a *winAdapter) gone() error {
	deadline := time.Now().Add(goneWait)
	for {
		_, err := a.luid.Interface()
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_NOT_FOUND) || errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
			break
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("check that %s is gone: %w", a.alias, err)
			}
			return fmt.Errorf("%s still exists %v after the tunnel closed", a.alias, goneWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rows, err := winipcfg.GetUnicastIPAddressTable(windows.AF_UNSPEC)
	if err != nil {
		return fmt.Errorf("address table: %w", err)
	}
	var left []netip.Prefix
	for i := range rows {
		if rows[i].InterfaceLUID == a.luid {
			left = append(left, netip.PrefixFrom(rows[i].Address.Addr(), int(rows[i].OnLinkPrefixLength)))
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("addresses left on the removed adapter's LUID: %s", prefixList(left))
	}
	return nil
}

// goneWait bounds how long Windows may take to remove the adapter.
const goneWait = 5 * time.Second

// winKillSwitch engages winnet's kill switch on the adapter, owned by the
// user running the selftest, in a WFP session of its own.
type winKillSwitch struct {
	a      *winAdapter
	remove func() error
}

// sublayerName names the kill switch's WFP sublayer.
const sublayerName = adapterName

// userSID is the SID of the user the selftest runs as, in string form.
func userSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("the user this runs as: %w", err)
	}
	return u.User.Sid.String(), nil
}

func (k *winKillSwitch) engage() ([]winnet.Rule, error) {
	owner, err := userSID()
	if err != nil {
		return nil, err
	}
	rules := winnet.KillSwitch(winnet.KillSwitchParams{Owner: owner, Endpoints: []netip.AddrPort{k.a.sp.endpoint}})
	if k.remove, err = winnet.OpenKillSwitch(sublayerName, uint64(k.a.luid), rules); err != nil {
		return nil, err
	}
	return rules, nil
}

func (k *winKillSwitch) installed() ([]winnet.Rule, error) {
	return winnet.InstalledRules(sublayerName, uint64(k.a.luid))
}

func (k *winKillSwitch) disengage() error {
	if k.remove == nil {
		return nil
	}
	err := k.remove()
	k.remove = nil
	return err
}
