package selftest

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// seeded is a deterministic randomness source for the address picker.
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

func prefixes(ss ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range ss {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

// checkFamily asserts that f is a valid throwaway subnet inside within
// that overlaps none of used.
func checkFamily(t *testing.T, f family, bits int, within netip.Prefix, used []netip.Prefix) {
	t.Helper()
	if !f.OK() {
		t.Fatalf("no subnet: %v", f.Err)
	}
	if f.Subnet.Bits() != bits || f.Subnet.Masked() != f.Subnet || !within.Contains(f.Subnet.Addr()) {
		t.Errorf("subnet %v is not a /%d inside %v", f.Subnet, bits, within)
	}
	if f.Local.Addr() != f.Subnet.Addr().Next() || f.Local.Bits() != bits || f.Peer != f.Local.Addr().Next() || !f.Subnet.Contains(f.Peer) {
		t.Errorf("subnet %v: adapter %v, peer %v; want the first two host addresses", f.Subnet, f.Local, f.Peer)
	}
	for _, u := range used {
		if u.Bits() >= minUsedBits && u.Overlaps(f.Subnet) {
			t.Errorf("subnet %v overlaps the host's %v", f.Subnet, u)
		}
	}
}

var (
	bench  = netip.MustParsePrefix("198.18.0.0/15")
	shared = netip.MustParsePrefix("100.64.0.0/10")
	ula    = netip.MustParsePrefix("fd00::/8")
)

func TestPickAddressesFreeHost(t *testing.T) {
	used := prefixes("0.0.0.0/0", "::/0", "192.168.1.0/24", "192.168.1.23/32", "127.0.0.0/8", "fe80::/64")
	for seed := range uint64(200) {
		v4, v6 := pickAddresses(used, seeded(seed))
		checkFamily(t, v4, bits4, bench, used)
		checkFamily(t, v6, bits6, ula, used)
	}
}

// TestPickAddressesAvoidsRoutes: subnets never overlap the host's routes,
// even when most of the range is taken; default routes and a VPN's /1
// halves do not count (the throwaway route is more specific).
func TestPickAddressesAvoidsRoutes(t *testing.T) {
	// Everything in 198.18.0.0/15 except 198.19.255.0/24 is routed.
	used := prefixes("198.18.0.0/16", "198.19.0.0/17", "198.19.128.0/18", "198.19.192.0/19", "198.19.224.0/20",
		"198.19.240.0/21", "198.19.248.0/22", "198.19.252.0/23", "198.19.254.0/24", "0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1")
	found := 0
	for seed := range uint64(50) {
		v4, _ := pickAddresses(used, seeded(seed))
		if !v4.OK() {
			t.Fatal(v4.Err)
		}
		checkFamily(t, v4, bits4, netip.MustParsePrefix("0.0.0.0/0"), used)
		if bench.Contains(v4.Subnet.Addr()) {
			found++
		}
	}
	if found == 0 {
		t.Error("never picked the free /24 of the benchmarking range; the fallback took every time")
	}
}

func TestPickAddressesFallsBack(t *testing.T) {
	used := prefixes("198.18.0.0/15", "fd00::/8")
	v4, v6 := pickAddresses(used, seeded(1))
	checkFamily(t, v4, bits4, shared, used)
	if v4.From != "RFC 6598 shared address space" {
		t.Errorf("From = %q", v4.From)
	}
	if v6.OK() || !errors.Is(v6.Err, ErrNoFreeAddress) {
		t.Errorf("IPv6 with fd00::/8 routed: %v, %v; want ErrNoFreeAddress", v6.Subnet, v6.Err)
	}
}

func TestPickAddressesNoneFree(t *testing.T) {
	used := prefixes("198.18.0.0/15", "100.64.0.0/10")
	v4, v6 := pickAddresses(used, seeded(2))
	if v4.OK() || !errors.Is(v4.Err, ErrNoFreeAddress) {
		t.Errorf("IPv4 with both ranges routed: %v, %v; want ErrNoFreeAddress", v4.Subnet, v4.Err)
	}
	checkFamily(t, v6, bits6, ula, used)
}

// TestPickAddressesMappedRoutes: an IPv4-mapped IPv6 route counts as the
// IPv4 route it maps.
func TestPickAddressesMappedRoutes(t *testing.T) {
	used := prefixes("::ffff:198.18.0.0/111", "::ffff:100.64.0.0/106")
	if v4, _ := pickAddresses(used, seeded(3)); v4.OK() {
		t.Errorf("picked %v although both ranges are routed (IPv4-mapped)", v4.Subnet)
	}
}

// TestPickAddressesShortRandomness: a randomness source that runs dry is
// a reason, not a panic or a bogus subnet.
func TestPickAddressesShortRandomness(t *testing.T) {
	v4, v6 := pickAddresses(nil, &shortReader{n: 3})
	if v4.OK() || v6.OK() {
		t.Errorf("picked %v, %v from 3 random bytes", v4.Subnet, v6.Subnet)
	}
}

type shortReader struct{ n int }

func (r *shortReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("dry")
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}
