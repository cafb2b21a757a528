package proxy_test

import (
	"fmt"

	"github.com/warren-vpn/warren/internal/proxy"
)

func ExampleParseForward() {
	for _, spec := range []string{
		"8080=10.0.0.2:80",               // local port 8080 into the tunnel
		"udp:127.0.0.1:5353=10.0.0.1:53", // local UDP into the tunnel
		"tunnel:2222=127.0.0.1:22",       // the tunnel's port 2222 to local ssh
	} {
		f, err := proxy.ParseForward(spec)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(f)
	}
	// Output:
	// tcp 127.0.0.1:8080 -> tunnel:10.0.0.2:80
	// udp 127.0.0.1:5353 -> tunnel:10.0.0.1:53
	// tcp tunnel:2222 -> 127.0.0.1:22
}

func ExampleSplitConfig() {
	file := `[Interface]
PrivateKey = uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1Q=
Address = 10.200.200.2/32

[Socks5]
BindAddress = 127.0.0.1:1080
`
	wg, settings, err := proxy.SplitConfig("wg0.conf", []byte(file), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("SOCKS5 on %s\n%s", settings.SOCKS5[0].Listen, wg[:12])
	// Output:
	// SOCKS5 on 127.0.0.1:1080
	// [Interface]
}
