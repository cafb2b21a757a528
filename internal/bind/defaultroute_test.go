package bind

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

const tunnelLUID = 0x77

func defaultRoute4(luid uint64, metric uint32) Route {
	return Route{Prefix: netip.MustParsePrefix("0.0.0.0/0"), LUID: luid, Metric: metric}
}

func TestDefaultInterface(t *testing.T) {
	ethernet := Interface{LUID: 0x10, Index: 10, Up: true, Metric: 25}
	wifi := Interface{LUID: 0x20, Index: 20, Up: true, Metric: 35}
	tunnel := Interface{LUID: tunnelLUID, Index: 77, Up: true, Metric: 5}
	down := func(i Interface) Interface { i.Up = false; return i }
	tests := []struct {
		name  string
		table RouteTable
		want  uint32 // index; 0 is none
	}{
		{name: "empty table"},
		{name: "one physical default",
			table: RouteTable{Routes: []Route{defaultRoute4(0x10, 0)}, Interfaces: []Interface{ethernet}}, want: 10},
		{name: "lowest route plus interface metric",
			table: RouteTable{Routes: []Route{defaultRoute4(0x10, 20), defaultRoute4(0x20, 0)}, Interfaces: []Interface{ethernet, wifi}}, want: 20},
		{name: "interface metric decides",
			table: RouteTable{Routes: []Route{defaultRoute4(0x10, 0), defaultRoute4(0x20, 0)}, Interfaces: []Interface{ethernet, wifi}}, want: 10},
		{name: "the tunnel's own default route is skipped",
			table: RouteTable{Routes: []Route{defaultRoute4(tunnelLUID, 0), defaultRoute4(0x20, 500)}, Interfaces: []Interface{tunnel, wifi}}, want: 20},
		{name: "only the tunnel's default route: none",
			table: RouteTable{Routes: []Route{defaultRoute4(tunnelLUID, 0)}, Interfaces: []Interface{tunnel, ethernet}}},
		{name: "an interface that is down is skipped",
			table: RouteTable{Routes: []Route{defaultRoute4(0x10, 0), defaultRoute4(0x20, 0)}, Interfaces: []Interface{down(ethernet), wifi}}, want: 20},
		{name: "all down: none",
			table: RouteTable{Routes: []Route{defaultRoute4(0x10, 0), defaultRoute4(0x20, 0)}, Interfaces: []Interface{down(ethernet), down(wifi)}}},
		{name: "an interface without this family is skipped",
			table: RouteTable{Routes: []Route{defaultRoute4(0x10, 0), defaultRoute4(0x20, 100)}, Interfaces: []Interface{wifi}}, want: 20},
		{name: "routes that are not default routes are ignored",
			table: RouteTable{Routes: []Route{
				{Prefix: netip.MustParsePrefix("0.0.0.0/1"), LUID: 0x10},
				{Prefix: netip.MustParsePrefix("192.168.1.0/24"), LUID: 0x10},
				{},
			}, Interfaces: []Interface{ethernet}}},
		{name: "IPv6 default",
			table: RouteTable{Routes: []Route{{Prefix: netip.MustParsePrefix("::/0"), LUID: 0x20, Metric: 256}}, Interfaces: []Interface{wifi}}, want: 20},
		{name: "metrics add without overflow",
			table: RouteTable{
				Routes:     []Route{defaultRoute4(0x10, 0xffffffff), defaultRoute4(0x20, 5)},
				Interfaces: []Interface{{LUID: 0x10, Index: 10, Up: true, Metric: 1}, {LUID: 0x20, Index: 20, Up: true, Metric: 5}},
			}, want: 20},
		{name: "a tie goes to the lower index",
			table: RouteTable{Routes: []Route{defaultRoute4(0x20, 0), defaultRoute4(0x10, 10)}, Interfaces: []Interface{
				{LUID: 0x20, Index: 20, Up: true, Metric: 10}, {LUID: 0x10, Index: 10, Up: true, Metric: 0}}}, want: 10},
		{name: "then to the lower LUID",
			table: RouteTable{Routes: []Route{defaultRoute4(0x30, 0), defaultRoute4(0x10, 0)}, Interfaces: []Interface{
				{LUID: 0x30, Index: 10, Up: true}, {LUID: 0x10, Index: 10, Up: true}}}, want: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := DefaultInterface(tt.table, tunnelLUID)
			if tt.want == 0 {
				if ok {
					t.Fatalf("DefaultInterface = %+v, want none", c)
				}
				return
			}
			if !ok || c.Index != tt.want {
				t.Fatalf("DefaultInterface = %+v, %v; want index %d", c, ok, tt.want)
			}
		})
	}
}

// TestDefaultInterfaceOrder: the answer does not depend on the order of
// the table's rows, also when metrics tie.
func TestDefaultInterfaceOrder(t *testing.T) {
	table := RouteTable{
		Routes: []Route{defaultRoute4(0x30, 5), defaultRoute4(0x10, 5), defaultRoute4(0x20, 5), defaultRoute4(0x40, 1), defaultRoute4(tunnelLUID, 0)},
		Interfaces: []Interface{
			{LUID: 0x10, Index: 12, Up: true, Metric: 10},
			{LUID: 0x20, Index: 11, Up: true, Metric: 10},
			{LUID: 0x30, Index: 11, Up: true, Metric: 10},
			{LUID: 0x40, Index: 1, Up: false},
			{LUID: tunnelLUID, Index: 2, Up: true},
		},
	}
	want := DefaultChoice{LUID: 0x20, Index: 11, Metric: 15}
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		r.Shuffle(len(table.Routes), func(i, j int) { table.Routes[i], table.Routes[j] = table.Routes[j], table.Routes[i] })
		r.Shuffle(len(table.Interfaces), func(i, j int) {
			table.Interfaces[i], table.Interfaces[j] = table.Interfaces[j], table.Interfaces[i]
		})
		if c, ok := DefaultInterface(table, tunnelLUID); !ok || c != want {
			t.Fatalf("DefaultInterface(%+v) = %+v, %v; want %+v", table, c, ok, want)
		}
	}
}
