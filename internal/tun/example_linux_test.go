package tun_test

import (
	"fmt"
	"log"

	"github.com/warren-vpn/warren/internal/tun"
)

// Create needs CAP_NET_ADMIN. The link stays down until brought up (ip link
// set wg0 up); Events reports that.
func ExampleCreate() {
	dev, err := tun.Create("wg0", 1420)
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Close()
	for ev := range dev.Events() {
		if ev&tun.EventUp != 0 {
			mtu, _ := dev.MTU()
			fmt.Println("wg0 is up, MTU", mtu)
			break
		}
	}
}
