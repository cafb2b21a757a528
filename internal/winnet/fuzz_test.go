package winnet

import (
	"testing"

	"github.com/warren-vpn/warren/internal/conf"
)

// FuzzNewPlan checks NewPlan's invariants on whatever the parser accepts:
// no panic, no /0 route (always split), a kill switch exactly when a
// default route is taken, every route inside some AllowedIP.
func FuzzNewPlan(f *testing.F) {
	f.Add([]byte("[Interface]\nAddress = 10.0.0.2/24\nDNS = 10.0.0.1, example.com\n[Peer]\nPublicKey = " + pub1 + "\nAllowedIPs = 0.0.0.0/0, ::/0\n"))
	f.Add([]byte("[Interface]\nMTU = 1280\nAddress = fd00::1/64\n[Peer]\nPublicKey = " + pub1 + "\nAllowedIPs = 10.0.0.0/8, ::ffff:10.0.0.0/104\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := conf.Parse("fuzz", data, conf.Options{Quick: true})
		if err != nil {
			return
		}
		p, err := NewPlan("fuzz", cf, Options{})
		if err != nil {
			return
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
