package winnet

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/conf"
)

// FuzzNewPlan checks NewPlan's invariants on whatever the parser accepts:
// no panic, no /0 route (always split), a kill switch exactly when a
// default route is taken, and then blocking both families and letting
// through only the owner, nothing routed with Table = off, every route
// inside some AllowedIP.
func FuzzNewPlan(f *testing.F) {
	f.Add([]byte("[Interface]\nAddress = 10.0.0.2/24\nDNS = 10.0.0.1, example.com\n[Peer]\nPublicKey = " + pub1 + "\nAllowedIPs = 0.0.0.0/0, ::/0\n"))
	f.Add([]byte("[Interface]\nMTU = 1280\nAddress = fd00::1/64\n[Peer]\nPublicKey = " + pub1 + "\nAllowedIPs = 10.0.0.0/8, ::ffff:10.0.0.0/104\n"))
	f.Add([]byte("[Interface]\nTable = off\nDNS = fd00::1\n[Peer]\nPublicKey = " + pub1 + "\nAllowedIPs = 0.0.0.0/0\n[Peer]\nPublicKey = " + pub2 + "\nAllowedIPs = 10.0.0.0/8\n"))
	const service = "WarrenTunnel$fuzz"
	owner := ServiceSID(service)
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := conf.Parse("fuzz", data, conf.Options{Quick: true})
		if err != nil {
			return
		}
		p, err := NewPlan("fuzz", cf, Options{ServiceName: service})
		if err != nil {
			return
		}
		if p.TableOff && (len(p.Routes) > 0 || p.DefaultRoute4 || p.DefaultRoute6) {
			t.Errorf("Table = off with routes %v, default routes %v/%v", p.Routes, p.DefaultRoute4, p.DefaultRoute6)
		}
		if len(p.Firewall) > 0 {
			a := netip.MustParseAddr
			for _, pkt := range []Packet{
				{Layer: LayerConnectV4, Protocol: ProtoTCP, RemoteAddr: a("192.0.2.1"), RemotePort: 443},
				{Layer: LayerConnectV6, Protocol: ProtoTCP, RemoteAddr: a("2001:db8::1"), RemotePort: 443},
				{Layer: LayerConnectV6, OwnApp: true, SIDs: []string{"S-1-5-21-1-2-3-1001"}, Protocol: ProtoUDP, RemoteAddr: a("2001:db8::1"), RemotePort: 51820},
			} {
				if Verdict(p.Firewall, pkt) != Block {
					t.Errorf("kill switch lets %+v through", pkt)
				}
			}
			own := Packet{Layer: LayerConnectV4, OwnApp: true, SIDs: []string{owner}, Protocol: ProtoUDP, RemoteAddr: a("192.0.2.1"), RemotePort: 51820}
			if Verdict(p.Firewall, own) != Permit {
				t.Error("kill switch blocks the tunnel's own traffic")
			}
		}
		for _, r := range p.Routes {
			if r.Prefix.Bits() == 0 {
				t.Errorf("unsplit default route %v", r.Prefix)
			}
			covered := false
			for _, a := range p.AllowedIPs {
				covered = covered || (a.Bits() <= r.Prefix.Bits() && a.Contains(r.Prefix.Addr()))
			}
			if !covered {
				t.Errorf("route %v outside AllowedIPs %v", r.Prefix, p.AllowedIPs)
			}
		}
		if (len(p.Firewall) > 0) != (p.DefaultRoute4 || p.DefaultRoute6) {
			t.Errorf("kill switch %d rules with default routes %v/%v", len(p.Firewall), p.DefaultRoute4, p.DefaultRoute6)
		}
		_ = p.String()
		_ = Conflicts([]*Plan{p, p})
	})
}

// FuzzCheckSID: checkSID never panics, and what it accepts is safe to
// place in ownerSDDL (digits and dashes after "S-").
func FuzzCheckSID(f *testing.F) {
	for _, s := range []string{"S-1-5-18", "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464", "S-1-5-18)(A;;GA;;;WD", "SY", "S-1-99999999999999999999-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := checkSID(s)
		if err != nil {
			if !errors.Is(err, ErrSID) {
				t.Errorf("checkSID(%q) = %v, not ErrSID", s, err)
			}
			return
		}
		if !strings.HasPrefix(s, "S-1-") || strings.Trim(s[2:], "0123456789-") != "" {
			t.Errorf("checkSID accepted %q", s)
		}
	})
}
