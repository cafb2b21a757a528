package uapi_test

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

func ExampleParseSet() {
	body := "listen_port=51820\n" +
		"public_key=" + strings.Repeat("ab", 32) + "\n" +
		"endpoint=[2001:db8::1]:51820\n" +
		"allowed_ip=10.0.0.0/8\n" +
		"\n"
	cfg, err := uapi.ParseSet(strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(*cfg.ListenPort, cfg.Peers[0].PublicKey, *cfg.Peers[0].Endpoint, cfg.Peers[0].AllowedIPs)

	_, err = uapi.ParseSet(strings.NewReader("listen_port=65536\n\n"))
	fmt.Println(err)
	// Output:
	// 51820 q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s= [2001:db8::1]:51820 [10.0.0.0/8]
	// uapi: invalid argument: set request line 2: listen_port: "65536": value out of range
}

func ExampleWriteGet() {
	dev := &wgtypes.Device{
		ListenPort: 51820,
		Peers: []wgtypes.Peer{{
			PublicKey:  noise.PublicKey{1},
			Endpoint:   netip.MustParseAddrPort("192.0.2.1:51820"),
			AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		}},
	}
	uapi.WriteGet(os.Stdout, dev)
	// Output:
	// listen_port=51820
	// public_key=0100000000000000000000000000000000000000000000000000000000000000
	// preshared_key=0000000000000000000000000000000000000000000000000000000000000000
	// protocol_version=1
	// endpoint=192.0.2.1:51820
	// last_handshake_time_sec=0
	// last_handshake_time_nsec=0
	// tx_bytes=0
	// rx_bytes=0
	// persistent_keepalive_interval=0
	// allowed_ip=10.0.0.0/8
}

// A daemon serves its device on /var/run/wireguard/NAME.sock until it stops.
func ExampleServe() {
	var dev uapi.Handler // the engine's device
	l, err := uapi.Listen(uapi.DefaultSocketDir, "wg0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	go uapi.Serve(l, dev, func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	})
	// ... run until told to stop, then:
	l.Close() // Serve closes the connections and returns; the socket file goes.
}

// A client (the wg command set) talks to a running device.
func ExampleSet() {
	c, err := uapi.Dial(uapi.DefaultSocketDir, "wg0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer c.Close()
	port := uint16(51820)
	if err := uapi.Set(c, &wgtypes.Config{ListenPort: &port}); err != nil {
		fmt.Fprintln(os.Stderr, "Unable to modify interface:", err)
		return
	}
	dev, err := uapi.Get(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Unable to access interface:", err)
		return
	}
	fmt.Println(dev.ListenPort)
}
