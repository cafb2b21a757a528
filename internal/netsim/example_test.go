package netsim_test

import (
	"fmt"
	"net/netip"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/netsim"
)

func Example() {
	n, a, b := netsim.Pipe(netsim.Options{Seed: 1})
	defer n.Close()
	if _, _, err := a.Open(1000); err != nil {
		panic(err)
	}
	fns, port, err := b.Open(2000)
	if err != nil {
		panic(err)
	}

	// a sends to b; b replies to the Endpoint it received from.
	ep, _ := a.ParseEndpoint(fmt.Sprintf("%v:%d", b.Addr(), port))
	a.Send([][]byte{[]byte("hello")}, ep)

	bufs, sizes, eps := [][]byte{make([]byte, 1500)}, make([]int, 1), make([]bind.Endpoint, 1)
	k, _ := fns[0](bufs, sizes, eps)
	fmt.Printf("%d datagram %q from %v\n", k, bufs[0][:sizes[0]], eps[0])

	// Behind a NAT, b sees a at the NAT's outside address.
	n.SetNAT(a.Addr(), netip.MustParseAddrPort("203.0.113.1:40000"))
	a.Send([][]byte{[]byte("again")}, ep)
	fns[0](bufs, sizes, eps)
	fmt.Printf("%q from %v\n", bufs[0][:sizes[0]], eps[0])
	fmt.Printf("%+v\n", n.Stats())
	// Output:
	// 1 datagram "hello" from 192.0.2.1:1000
	// "again" from 203.0.113.1:40000
	// {Sent:2 Received:2 Lost:0 Filtered:0 TooBig:0 NoRoute:0 Overflow:0 Duplicated:0 Reordered:0}
}
