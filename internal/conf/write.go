package conf

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

// Write writes f in the format wg showconf prints, with any wg-quick keys
// first in [Interface] as wg-quick save does, and each peer's name as a
// comment above its [Peer] header (an invalid name fails the write before
// anything is written). Parsing the output (with Options.Quick if f has
// wg-quick keys) gives back an equal File. The output holds secrets: write
// it only where the original could be read.
func Write(w io.Writer, f *File) error {
	// A name that could end its comment line would add lines of its own.
	for _, p := range f.Peers {
		if p.Name != "" {
			if err := ValidPeerName(p.Name); err != nil {
				return fmt.Errorf("write configuration: peer %s: %w", p.PublicKey, err)
			}
		}
	}
	bw := bufio.NewWriter(w)
	in := &f.Interface
	bw.WriteString("[Interface]\n")
	if len(in.Addresses) > 0 {
		parts := make([]string, len(in.Addresses))
		for i, a := range in.Addresses {
			parts[i] = FormatPrefix(a)
		}
		fmt.Fprintf(bw, "Address = %s\n", strings.Join(parts, ", "))
	}
	if len(in.DNS)+len(in.DNSSearch) > 0 {
		parts := make([]string, 0, len(in.DNS)+len(in.DNSSearch))
		for _, a := range in.DNS {
			parts = append(parts, FormatAddr(a))
		}
		parts = append(parts, in.DNSSearch...)
		fmt.Fprintf(bw, "DNS = %s\n", strings.Join(parts, ", "))
	}
	if in.MTU != 0 {
		fmt.Fprintf(bw, "MTU = %d\n", in.MTU)
	}
	if in.Table != "" {
		fmt.Fprintf(bw, "Table = %s\n", in.Table)
	}
	if in.SaveConfig {
		bw.WriteString("SaveConfig = true\n")
	}
	for _, h := range []struct {
		key  string
		cmds []string
	}{{"PreUp", in.PreUp}, {"PostUp", in.PostUp}, {"PreDown", in.PreDown}, {"PostDown", in.PostDown}} {
		for _, c := range h.cmds {
			fmt.Fprintf(bw, "%s = %s\n", h.key, c)
		}
	}
	if in.ListenPort != nil {
		fmt.Fprintf(bw, "ListenPort = %d\n", *in.ListenPort)
	}
	if in.FwMark != nil {
		if *in.FwMark == 0 {
			bw.WriteString("FwMark = off\n")
		} else {
			fmt.Fprintf(bw, "FwMark = 0x%x\n", *in.FwMark)
		}
	}
	if in.PrivateKey != nil {
		fmt.Fprintf(bw, "PrivateKey = %s\n", in.PrivateKey.Base64())
	}
	bw.WriteString("\n")
	for i, p := range f.Peers {
		if p.Name != "" {
			fmt.Fprintf(bw, "# Name = %s\n", p.Name)
		}
		fmt.Fprintf(bw, "[Peer]\nPublicKey = %s\n", p.PublicKey.String())
		if p.PresharedKey != nil {
			fmt.Fprintf(bw, "PresharedKey = %s\n", p.PresharedKey.Base64())
		}
		if len(p.AllowedIPs) > 0 {
			bw.WriteString("AllowedIPs = ")
			for j, a := range p.AllowedIPs {
				if j > 0 {
					bw.WriteString(", ")
				}
				bw.WriteString(FormatPrefix(a))
			}
			bw.WriteString("\n")
		}
		if p.Endpoint != "" {
			fmt.Fprintf(bw, "Endpoint = %s\n", p.Endpoint)
		}
		if p.PersistentKeepalive != nil {
			if *p.PersistentKeepalive == 0 {
				bw.WriteString("PersistentKeepalive = off\n")
			} else {
				fmt.Fprintf(bw, "PersistentKeepalive = %d\n", *p.PersistentKeepalive)
			}
		}
		if i < len(f.Peers)-1 {
			bw.WriteString("\n")
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	return nil
}

// Strip returns a copy of f without the wg-quick keys: the configuration
// wg-quick strip hands to wg, as a File (peers' names kept). `warren strip`
// prints the file's own text instead, as wg-quick does: see StripText.
func Strip(f *File) *File {
	in := f.Interface
	return &File{
		Interface: Interface{PrivateKey: in.PrivateKey, ListenPort: in.ListenPort, FwMark: in.FwMark},
		Peers:     slices.Clone(f.Peers),
	}
}

// FromDevice describes a running device as a File, as wg showconf does:
// unset and zero values are left out.
func FromDevice(d *wgtypes.Device) *File {
	f := &File{}
	if d.ListenPort != 0 {
		port := d.ListenPort
		f.Interface.ListenPort = &port
	}
	if d.FwMark != 0 {
		mark := d.FwMark
		f.Interface.FwMark = &mark
	}
	if !d.PrivateKey.IsZero() {
		k := d.PrivateKey
		f.Interface.PrivateKey = &k
	}
	for _, dp := range d.Peers {
		p := Peer{PublicKey: dp.PublicKey, AllowedIPs: slices.Clone(dp.AllowedIPs)}
		if !dp.PresharedKey.IsZero() {
			k := dp.PresharedKey
			p.PresharedKey = &k
		}
		if dp.Endpoint.IsValid() {
			p.Endpoint = FormatEndpoint(dp.Endpoint)
		}
		if dp.PersistentKeepaliveInterval != 0 {
			n := dp.PersistentKeepaliveInterval
			p.PersistentKeepalive = &n
		}
		f.Peers = append(f.Peers, p)
	}
	return f
}

// FormatAddr formats an address as glibc's inet_ntop does, which differs
// from netip only for IPv4-compatible IPv6 addresses (::a.b.c.d).
func FormatAddr(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		b := a.As16()
		if isZero(b[:12]) && (b[12] != 0 || b[13] != 0) {
			s := fmt.Sprintf("::%d.%d.%d.%d", b[12], b[13], b[14], b[15])
			if z := a.Zone(); z != "" {
				s += "%" + z
			}
			return s
		}
	}
	return a.String()
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// FormatPrefix formats a prefix as wg prints allowed IPs: the address as
// stored, a slash and the length.
func FormatPrefix(p netip.Prefix) string {
	return fmt.Sprintf("%s/%d", FormatAddr(p.Addr()), p.Bits())
}

// FormatEndpoint formats an endpoint as wg prints it: a.b.c.d:port or
// [v6]:port.
func FormatEndpoint(ap netip.AddrPort) string {
	a := ap.Addr()
	if a.Is6() {
		return fmt.Sprintf("[%s]:%d", FormatAddr(a), ap.Port())
	}
	return fmt.Sprintf("%s:%d", FormatAddr(a), ap.Port())
}
