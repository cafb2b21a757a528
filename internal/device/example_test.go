package device_test

import (
	"crypto/rand"
	"fmt"
	"net/netip"

	"github.com/warren-vpn/warren/internal/device"
	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/tun"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// A device is built from a TUN device and a bind, configured with Apply,
// and inspected with State.
func Example() {
	network := netsim.New(netsim.Options{})
	defer network.Close()

	priv, _ := noise.NewPrivateKey(rand.Reader)
	peer, _ := noise.NewPrivateKey(rand.Reader)
	d, err := device.New(tun.NewMemory("wg0", 1420), network.NewBind(netip.MustParseAddr("192.0.2.1")), device.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()

	port := uint16(51820)
	endpoint := netip.MustParseAddrPort("192.0.2.2:51820")
	err = d.Apply(&wgtypes.Config{
		PrivateKey: &priv,
		ListenPort: &port,
		Peers: []wgtypes.PeerConfig{{
			PublicKey:  peer.PublicKey(),
			Endpoint:   &endpoint,
			AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.2/32")},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := d.Up(); err != nil {
		fmt.Println(err)
		return
	}
	s := d.State()
	fmt.Println(s.ListenPort, len(s.Peers), s.Peers[0].AllowedIPs, s.Peers[0].Endpoint)
	// Output: 51820 1 [10.0.0.2/32] 192.0.2.2:51820
}
