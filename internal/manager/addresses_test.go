package manager

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func prefixes(s string) []netip.Prefix {
	var out []netip.Prefix
	for _, f := range strings.Fields(s) {
		out = append(out, netip.MustParsePrefix(f))
	}
	return out
}

func TestAllocate(t *testing.T) {
	for _, c := range []struct {
		name, server, held, want string
		err                      error
	}{
		{name: "first v4 after the server", server: "10.8.0.1/24", want: "10.8.0.2/32"},
		{name: "network address skipped, server elsewhere", server: "10.8.0.9/24", want: "10.8.0.1/32"},
		{name: "taken in order", server: "10.8.0.1/24", held: "10.8.0.2/32 10.8.0.3/32", want: "10.8.0.4/32"},
		{name: "holes reused", server: "10.8.0.1/24", held: "10.8.0.2/32 10.8.0.4/32 10.8.0.5/32", want: "10.8.0.3/32"},
		{name: "a held prefix covers a range", server: "10.8.0.1/24", held: "10.8.0.0/29", want: "10.8.0.8/32"},
		{name: "server skipped mid-range", server: "10.8.0.3/24", held: "10.8.0.1/32 10.8.0.2/32", want: "10.8.0.4/32"},
		{name: "outside prefixes ignored", server: "10.8.0.1/24", held: "192.168.0.0/16 10.9.0.0/16 fd00::/8", want: "10.8.0.2/32"},
		{name: "v4 full: broadcast never given", server: "10.8.0.1/30", held: "10.8.0.2/32", err: ErrSubnetFull},
		{name: "v4 /30 one left", server: "10.8.0.1/30", want: "10.8.0.2/32"},
		{name: "v4 /31 both are hosts", server: "10.8.0.0/31", want: "10.8.0.1/32"},
		{name: "v4 /32 has room for nobody", server: "10.8.0.1/32", err: ErrSubnetFull},
		{name: "a peer holding everything fills it", server: "10.8.0.1/24", held: "0.0.0.0/0", err: ErrSubnetFull},
		{name: "v4 last usable", server: "10.8.0.1/24", held: "10.8.0.0/25 10.8.0.128/26 10.8.0.192/27 10.8.0.224/28 10.8.0.240/29 10.8.0.248/30 10.8.0.252/31", want: "10.8.0.254/32"},
		{name: "v4 full at the top", server: "10.8.0.1/24", held: "10.8.0.0/25 10.8.0.128/26 10.8.0.192/27 10.8.0.224/28 10.8.0.240/29 10.8.0.248/30 10.8.0.252/31 10.8.0.254/32", err: ErrSubnetFull},
		{name: "v6", server: "fd00:8::1/64", want: "fd00:8::2/128"},
		{name: "v6 subnet-router anycast skipped", server: "fd00:8::5/64", want: "fd00:8::1/128"},
		{name: "v6 holes", server: "fd00:8::1/64", held: "fd00:8::2/128 fd00:8::4/127", want: "fd00:8::3/128"},
		{name: "v6 last address is usable", server: "fd00:8::1/126", held: "fd00:8::2/128", want: "fd00:8::3/128"},
		{name: "v6 full", server: "fd00:8::1/126", held: "fd00:8::2/127", err: ErrSubnetFull},
		{name: "v6 /128", server: "fd00:8::1/128", err: ErrSubnetFull},
		{name: "v6 held range ending at the top", server: "fd00:8::1/64", held: "fd00:8::/65 fd00:8:0:0:8000::/65", err: ErrSubnetFull},
		{name: "both families", server: "10.8.0.1/24 fd00:8::1/64", held: "10.8.0.2/32 fd00:8::2/128", want: "10.8.0.3/32 fd00:8::3/128"},
		{name: "one address per subnet", server: "10.8.0.1/24 10.8.0.2/24", want: "10.8.0.3/32"},
		{name: "two v4 subnets", server: "10.8.0.1/24 10.9.0.1/24", want: "10.8.0.2/32 10.9.0.2/32"},
		{name: "v4-mapped held", server: "10.8.0.1/24", held: "::ffff:10.8.0.2/128", want: "10.8.0.3/32"},
		{name: "top of the v4 space", server: "255.255.255.254/31", held: "255.255.255.255/32", err: ErrSubnetFull},
		{name: "top of the v6 space", server: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", held: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", err: ErrSubnetFull},
		{name: "no Address", err: ErrNoSubnet},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := allocate(prefixes(c.server), prefixes(c.held))
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("got %v, %v; want %v", got, err, c.err)
				}
				if errors.Is(err, ErrSubnetFull) && !strings.Contains(err.Error(), "subnet ") {
					t.Errorf("the error does not name the subnet: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, prefixes(c.want)) {
				t.Errorf("got %v, want %s", got, c.want)
			}
		})
	}
}

// Filling a small subnet one client at a time hands out every host
// address once, never the network, broadcast or server address.
func TestAllocateFillsSubnet(t *testing.T) {
	server := prefixes("10.8.0.5/28 fd00::5/124")
	var held []netip.Prefix
	seen := map[netip.Addr]bool{}
	for i := 0; ; i++ {
		got, err := allocate(server, held)
		if errors.Is(err, ErrSubnetFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range got {
			a := p.Addr()
			if seen[a] || a == netip.MustParseAddr("10.8.0.0") || a == netip.MustParseAddr("10.8.0.15") || a == netip.MustParseAddr("10.8.0.5") ||
				a == netip.MustParseAddr("fd00::") || a == netip.MustParseAddr("fd00::5") {
				t.Fatalf("round %d gave %s", i, a)
			}
			seen[a] = true
		}
		held = append(held, got...)
	}
	// 16 - network - broadcast - server = 13 v4 clients; the v6 /124 has
	// 16 - anycast - server = 14, so v4 fills first.
	if len(held) != 13*2 {
		t.Errorf("%d addresses handed out, want 26", len(held))
	}
}
