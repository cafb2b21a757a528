package quick

import (
	"net/netip"
	"testing"

	"github.com/warren-vpn/warren/internal/conf"
)

// FuzzNewPlan: for any file the parser accepts, the plan's routes are
// masked, unique and most specific first, and hooks lose every %i.
func FuzzNewPlan(f *testing.F) {
	f.Add("[Interface]\nAddress = 10.0.0.2/24\nTable = 1234\nPostUp = echo %i\n[Peer]\nPublicKey = " + testPub + "\nAllowedIPs = 10.0.0.9/24, ::/0, 0.0.0.0/0\n")
	f.Add("[Interface]\nTable = off\n[Peer]\nPublicKey = " + testPub + "\nAllowedIPs = fd00::1/8\n[Peer]\nPublicKey = " + testPub2 + "\nAllowedIPs = fd00::/8\n")
	f.Fuzz(func(t *testing.T, text string) {
		file, err := conf.Parse("fuzz.conf", []byte(text), conf.Options{Quick: true})
		if err != nil {
			return
		}
		p, err := NewPlan("wg0", file, nil)
		if err != nil {
			return
		}
		seen := map[netip.Prefix]bool{}
		for i, r := range p.Routes {
			if r != r.Masked() || seen[r] {
				t.Fatalf("route %v not masked or repeated in %v", r, p.Routes)
			}
			seen[r] = true
			if i > 0 && p.Routes[i-1].Bits() < r.Bits() {
				t.Fatalf("routes not most specific first: %v", p.Routes)
			}
		}
		for _, hooks := range [][]string{p.PreUp, p.PostUp, p.PreDown, p.PostDown} {
			for _, h := range hooks {
				for i := 0; i+1 < len(h); i++ {
					if h[i] == '%' && h[i+1] == 'i' {
						t.Fatalf("hook %q still holds %%i", h)
					}
				}
			}
		}
	})
}
