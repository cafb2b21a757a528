package winnet

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

func pinPrefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

func pinEndpoints(ss ...string) []netip.AddrPort {
	eps := make([]netip.AddrPort, len(ss))
	for i, s := range ss {
		eps[i] = netip.MustParseAddrPort(s)
	}
	return eps
}

func TestPinFamilies(t *testing.T) {
	tests := []struct {
		name      string
		routed    []netip.Prefix
		endpoints []netip.AddrPort
		v4, v6    bool
		why       string // a substring of the reason for the pinned family
	}{
		{name: "nothing routed", endpoints: pinEndpoints("192.0.2.1:51820")},
		{name: "split tunnel", routed: pinPrefixes("10.0.0.0/8", "fd00::/64"), endpoints: pinEndpoints("192.0.2.1:51820", "[2001:db8::1]:51820")},
		{name: "IPv4 default", routed: pinPrefixes("0.0.0.0/0"), v4: true, why: "routes 0.0.0.0/0"},
		{name: "IPv6 default", routed: pinPrefixes("::/0"), v6: true, why: "routes ::/0"},
		{name: "both defaults", routed: pinPrefixes("0.0.0.0/0", "::/0"), v4: true, v6: true},
		{name: "IPv4 halves", routed: pinPrefixes("0.0.0.0/1", "128.0.0.0/1"), v4: true, why: "cover all of IPv4"},
		{name: "IPv6 halves", routed: pinPrefixes("::/1", "8000::/1"), v6: true, why: "cover all of IPv6"},
		{name: "halves in reverse order", routed: pinPrefixes("128.0.0.0/1", "0.0.0.0/1"), v4: true},
		{name: "one half only", routed: pinPrefixes("0.0.0.0/1"), endpoints: pinEndpoints("192.0.2.1:51820")},
		{name: "quarters and a half", routed: pinPrefixes("0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"), v4: true},
		{name: "overlapping cover", routed: pinPrefixes("10.0.0.0/8", "0.0.0.0/1", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2", "255.255.255.255/32"), v4: true},
		{name: "gap at 192/3", routed: pinPrefixes("0.0.0.0/1", "128.0.0.0/2", "224.0.0.0/3"), endpoints: pinEndpoints("[2001:db8::1]:1")},
		{name: "gap of one address at the top", routed: pinPrefixes("0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4", "240.0.0.0/5",
			"248.0.0.0/6", "252.0.0.0/7", "254.0.0.0/8", "255.0.0.0/9", "255.128.0.0/10", "255.192.0.0/11", "255.224.0.0/12",
			"255.240.0.0/13", "255.248.0.0/14", "255.252.0.0/15", "255.254.0.0/16", "255.255.0.0/17", "255.255.128.0/18",
			"255.255.192.0/19", "255.255.224.0/20", "255.255.240.0/21", "255.255.248.0/22", "255.255.252.0/23", "255.255.254.0/24",
			"255.255.255.0/25", "255.255.255.128/26", "255.255.255.192/27", "255.255.255.224/28", "255.255.255.240/29",
			"255.255.255.248/30", "255.255.255.252/31")},
		{name: "gap of one address at the bottom", routed: pinPrefixes("0.0.0.1/32", "0.0.0.2/31", "0.0.0.4/30", "0.0.0.8/29", "0.0.0.16/28",
			"0.0.0.32/27", "0.0.0.64/26", "0.0.0.128/25", "0.0.1.0/24", "0.0.2.0/23", "0.0.4.0/22", "0.0.8.0/21", "0.0.16.0/20",
			"0.0.32.0/19", "0.0.64.0/18", "0.0.128.0/17", "0.1.0.0/16", "0.2.0.0/15", "0.4.0.0/14", "0.8.0.0/13", "0.16.0.0/12",
			"0.32.0.0/11", "0.64.0.0/10", "0.128.0.0/9", "1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6", "8.0.0.0/5", "16.0.0.0/4",
			"32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1")},
		{name: "the same, closed", routed: pinPrefixes("0.0.0.0/32", "0.0.0.1/32", "0.0.0.2/31", "0.0.0.4/30", "0.0.0.8/29", "0.0.0.16/28",
			"0.0.0.32/27", "0.0.0.64/26", "0.0.0.128/25", "0.0.1.0/24", "0.0.2.0/23", "0.0.4.0/22", "0.0.8.0/21", "0.0.16.0/20",
			"0.0.32.0/19", "0.0.64.0/18", "0.0.128.0/17", "0.1.0.0/16", "0.2.0.0/15", "0.4.0.0/14", "0.8.0.0/13", "0.16.0.0/12",
			"0.32.0.0/11", "0.64.0.0/10", "0.128.0.0/9", "1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6", "8.0.0.0/5", "16.0.0.0/4",
			"32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1"), v4: true},
		{name: "unmasked halves", routed: pinPrefixes("10.1.2.3/1", "200.1.2.3/1"), v4: true},
		{name: "IPv4-mapped default", routed: pinPrefixes("::ffff:0.0.0.0/96"), v4: true},
		{name: "IPv4-mapped halves", routed: pinPrefixes("::ffff:0.0.0.0/97", "128.0.0.0/1"), v4: true},
		{name: "IPv6 default does not pin IPv4", routed: pinPrefixes("::/0"), endpoints: pinEndpoints("10.1.2.3:51820"), v6: true},
		{name: "endpoint inside AllowedIPs", routed: pinPrefixes("10.0.0.0/8"), endpoints: pinEndpoints("10.1.2.3:51820"), v4: true, why: "10.0.0.0/8, which holds endpoint 10.1.2.3:51820"},
		{name: "endpoint's host route", routed: pinPrefixes("203.0.113.7/32"), endpoints: pinEndpoints("203.0.113.7:51820"), v4: true},
		{name: "second peer's endpoint inside", routed: pinPrefixes("10.0.0.0/8", "172.16.0.0/12"), endpoints: pinEndpoints("192.0.2.1:1", "172.20.0.1:51820"), v4: true},
		{name: "endpoint outside", routed: pinPrefixes("10.0.0.0/8"), endpoints: pinEndpoints("192.0.2.1:51820")},
		{name: "IPv6 endpoint inside", routed: pinPrefixes("10.0.0.0/8", "2001:db8::/32"), endpoints: pinEndpoints("[2001:db8:1::1]:51820", "192.0.2.1:1"), v6: true},
		{name: "IPv4-mapped endpoint inside", routed: pinPrefixes("10.0.0.0/8"), endpoints: pinEndpoints("[::ffff:10.1.2.3]:51820"), v4: true},
		{name: "IPv4-mapped endpoint under IPv6 prefix", routed: pinPrefixes("::/1"), endpoints: pinEndpoints("[::ffff:10.1.2.3]:51820")},
		{name: "zoned endpoint inside", routed: pinPrefixes("fe80::/10"), endpoints: pinEndpoints("[fe80::1%eth0]:51820"), v6: true},
		{name: "invalid values ignored", routed: []netip.Prefix{{}}, endpoints: []netip.AddrPort{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PinFamilies(tt.routed, tt.endpoints)
			if got.V4 != tt.v4 || got.V6 != tt.v6 {
				t.Fatalf("PinFamilies = v4 %v (%s), v6 %v (%s); want v4 %v, v6 %v", got.V4, got.Why4, got.V6, got.Why6, tt.v4, tt.v6)
			}
			if (got.Why4 != "") != got.V4 || (got.Why6 != "") != got.V6 {
				t.Errorf("reasons %q, %q do not match the decision v4 %v, v6 %v", got.Why4, got.Why6, got.V4, got.V6)
			}
			if tt.why != "" && !strings.Contains(got.Why4+got.Why6, tt.why) {
				t.Errorf("reason %q lacks %q", got.Why4+got.Why6, tt.why)
			}
		})
	}
}

// TestCoversFamilyAgainstBruteForce compares the gap sweep with a count of
// the /8 blocks covered, on random sets of IPv4 prefixes no longer than /8
// (so that covering every /8 block is covering everything).
func TestCoversFamilyAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	covered := 0
	for range 3000 {
		var ps []netip.Prefix
		for range 1 + r.IntN(12) {
			bits := r.IntN(4) // /0 is handled before the sweep; keep a few
			if bits > 0 {
				bits = []int{1, 1, 2, 2, 3, 4, 8}[r.IntN(7)]
			}
			a := netip.AddrFrom4([4]byte{byte(r.IntN(256))})
			ps = append(ps, netip.PrefixFrom(a, bits).Masked())
		}
		var blocks [256]bool
		for _, p := range ps {
			for b := range 256 {
				if p.Contains(netip.AddrFrom4([4]byte{byte(b)})) {
					blocks[b] = true
				}
			}
		}
		want := true
		for _, ok := range blocks {
			want = want && ok
		}
		if want {
			covered++
		}
		if got := coversFamily(ps, false); got != want {
			t.Fatalf("coversFamily(%v) = %v, want %v", ps, got, want)
		}
	}
	if covered == 0 || covered == 3000 {
		t.Fatalf("random sets were covered %d times of 3000: the test exercises only one answer", covered)
	}
}

func TestLastAddr(t *testing.T) {
	for _, tt := range []struct{ prefix, want string }{
		{"0.0.0.0/0", "255.255.255.255"},
		{"10.0.0.0/8", "10.255.255.255"},
		{"192.168.1.0/27", "192.168.1.31"},
		{"203.0.113.7/32", "203.0.113.7"},
		{"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8::/33", "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff"},
		{"fe80::1/128", "fe80::1"},
	} {
		if got := lastAddr(netip.MustParsePrefix(tt.prefix)); got != netip.MustParseAddr(tt.want) {
			t.Errorf("lastAddr(%s) = %v, want %s", tt.prefix, got, tt.want)
		}
	}
}
