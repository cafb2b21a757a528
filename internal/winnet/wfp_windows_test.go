//go:build windows

package winnet

import (
	"net/netip"
	"testing"
)

func TestV4AddrMask(t *testing.T) {
	for _, tc := range []struct {
		p          string
		addr, mask uint32
	}{
		{"192.0.2.7/32", 0xc0000207, 0xffffffff},
		{"10.1.2.3/8", 0x0a000000, 0xff000000},
		{"0.0.0.0/0", 0, 0},
		{"128.0.0.0/1", 0x80000000, 0x80000000},
	} {
		m := v4AddrMask(netip.MustParsePrefix(tc.p))
		if m.addr != tc.addr || m.mask != tc.mask {
			t.Errorf("v4AddrMask(%s) = %#x/%#x, want %#x/%#x", tc.p, m.addr, m.mask, tc.addr, tc.mask)
		}
	}
}

func TestSublayerKey(t *testing.T) {
	a1, a2, b := sublayerKey("a"), sublayerKey("a"), sublayerKey("b")
	if a1 != a2 || a1 == b {
		t.Error("sublayer keys are not a function of the tunnel name")
	}
}

// TestOpenFirewall installs the kill switch where the filter engine is
// reachable (an elevated Windows test run) and closes it again; elsewhere
// (wine, no rights) it must fail cleanly with an error.
func TestOpenFirewall(t *testing.T) {
	rules := KillSwitch(KillSwitchParams{Block4: true, Block6: true, DNS: []netip.Addr{netip.MustParseAddr("10.0.0.1")},
		Endpoints: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:51820")}})
	fw, err := openFirewall("warren-test", 1, rules)
	if err != nil {
		t.Skipf("filter engine not usable here: %v", err)
	}
	if err := fw.close(); err != nil {
		t.Errorf("close: %v", err)
	}
}
