package conf_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/warren-vpn/warren/internal/conf"
)

func ExampleParse() {
	data := []byte(`
[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
ListenPort = 51820
Address = 10.192.122.1/24   # a wg-quick key

[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
Endpoint = test.wireguard.com:18981
AllowedIPs = 10.192.122.3/32, 10.192.124.1/24
`)
	f, err := conf.Parse("wg0.conf", data, conf.Options{Quick: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(*f.Interface.ListenPort, f.Interface.Addresses, f.Peers[0].Endpoint, f.Peers[0].AllowedIPs)

	// The same file is not a valid wg setconf file.
	_, err = conf.Parse("wg0.conf", data, conf.Options{})
	fmt.Println(err)
	fmt.Println(errors.Is(err, conf.ErrQuickOnly))
	// Output:
	// 51820 [10.192.122.1/24] test.wireguard.com:18981 [10.192.122.3/32 10.192.124.1/24]
	// wg0.conf:5: Line unrecognized: `Address' is a wg-quick key, which wg does not accept
	// true
}

func ExampleWrite() {
	f, _ := conf.Parse("in.conf", []byte("[interface]\nlistenport=51820\n[peer]\npublickey=xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\npersistentkeepalive=off\n"), conf.Options{})
	conf.Write(os.Stdout, f)
	// Output:
	// [Interface]
	// ListenPort = 51820
	//
	// [Peer]
	// PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
	// PersistentKeepalive = off
}

func ExampleFile_WireGuardConfig() {
	f, _ := conf.Parse("wg0.conf", []byte("[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nEndpoint = vpn.example:51820\n"), conf.Options{})
	r := &conf.Resolver{
		// A fixed answer instead of the system resolver.
		LookupNetIP: func(context.Context, string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil
		},
		Retries: conf.DefaultRetries,
	}
	cfg, err := f.WireGuardConfig(context.Background(), r, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.ReplacePeers, *cfg.Peers[0].Endpoint)
	// Output: true 192.0.2.1:51820
}
