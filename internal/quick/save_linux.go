package quick

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

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

	// Peer names (# Name = ... above [Peer]) are the file's, not the
	// device's: keep them for the peers still there.
	conf.KeepNames(f, c.File)
	var b bytes.Buffer
	if err := conf.Write(&b, f); err != nil {
		return fmt.Errorf("could not write configuration file %s: %w", c.Path, err)
	}
	defer clear(b.Bytes())
	if err := writeFileAtomic(c.Path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("could not write configuration file %s: %w", c.Path, err)
	}
	return nil
}
