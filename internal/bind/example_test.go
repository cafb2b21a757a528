package bind_test

import (
	"fmt"
	"log"
	"net/netip"

	"github.com/warren-vpn/warren/internal/bind"
)

// A Bind opened on port 0 gets one port for IPv4 and IPv6; here it sends a
// datagram to itself over the loopback interface.
func ExampleNewStd() {
	b := bind.NewStd()
	fns, port, err := b.Open(0)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	self, err := b.ParseEndpoint(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String())
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Send([][]byte{[]byte("hello")}, self); err != nil {
		log.Fatal(err)
	}

	bufs := make([][]byte, b.BatchSize())
	for i := range bufs {
		bufs[i] = make([]byte, 1500)
	}
	sizes := make([]int, b.BatchSize())
	eps := make([]bind.Endpoint, b.BatchSize())
	n, err := fns[0](bufs, sizes, eps) // fns[0] is the IPv4 socket's
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d datagram: %q from %v\n", n, bufs[0][:sizes[0]], eps[0].DstAddrPort().Addr())
	// Output: 1 datagram: "hello" from 127.0.0.1
}

func ExampleBind_ParseEndpoint() {
	b := bind.NewStd()
	for _, s := range []string{"192.0.2.1:51820", "[2001:db8::1]:51820", "[::ffff:192.0.2.1]:51820"} {
		ep, err := b.ParseEndpoint(s)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ep)
	}
	// Output:
	// 192.0.2.1:51820
	// [2001:db8::1]:51820
	// 192.0.2.1:51820
}
