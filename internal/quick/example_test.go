package quick_test

import (
	"fmt"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/quick"
)

func ExampleNewPlan() {
	f, err := conf.Parse("wg0.conf", []byte(`[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
Address = 10.0.0.2/24
PostUp = logger %i is up
[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
AllowedIPs = 10.0.0.0/24, 0.0.0.0/0, 192.168.1.7/32
`), conf.Options{Quick: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := quick.NewPlan("wg0", f, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("routes:", p.Routes)
	fmt.Println("policy routing:", p.PolicyRoutes())
	fmt.Println("PostUp:", p.PostUp)
	fmt.Println("MTU:", quick.AutoMTU(nil, 1500))
	// Output:
	// routes: [192.168.1.7/32 10.0.0.0/24 0.0.0.0/0]
	// policy routing: true
	// PostUp: [logger wg0 is up]
	// MTU: 1420
}
