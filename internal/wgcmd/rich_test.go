package wgcmd

import (
	"net/netip"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// richDevice exercises every branch of wg's formats; handshake times are
// relative to now, as wg computes "ago" from its own clock.
func richDevice(t testing.TB, now time.Time) *wgtypes.Device {
	priv := noise.PrivateKey(mustKey(t, "CM/YZGRFE/7si3qaMhDtfTcjzypgP291Wmm7kJk5V10="))
	pfx := netip.MustParsePrefix
	peer := func(pub string) wgtypes.Peer { return wgtypes.Peer{PublicKey: mustKey(t, pub), ProtocolVersion: 1} }
	p := []wgtypes.Peer{
		peer("tstK29LF3N9D8e34YiZkN1ZOA3/34hPmoQFwBs38d14="),
		peer("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="),
		peer("TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="),
		peer("gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA="),
		peer("eL9tOf5KyfoUfUxIeArBo3j3qj26McI5qZWHYT/9SFc="),
		peer("HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="),
		peer("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
		peer("//////////////////////////////////////////8="),
	}
	// 0: everything, recent handshake.
	p[0].PresharedKey = mustKey(t, "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=")
	p[0].Endpoint = netip.MustParseAddrPort("192.95.5.67:1234")
	p[0].AllowedIPs = []netip.Prefix{pfx("10.192.122.3/32"), pfx("10.192.124.0/24"), pfx("::/0"), pfx("::1.2.3.4/128")}
	p[0].LastHandshakeTime = now.Add(-5 * time.Second)
	p[0].RxBytes, p[0].TxBytes = 1536, 1023
	p[0].PersistentKeepaliveInterval = 25
	// 1: v6 endpoint, old handshake, big counters.
	p[1].Endpoint = netip.MustParseAddrPort("[2607:5300:60:6b0::c05f:543]:2468")
	p[1].AllowedIPs = []netip.Prefix{pfx("fd00::/8")}
	p[1].LastHandshakeTime = now.Add(-(400*24*time.Hour + 1*time.Hour + 1*time.Minute + 1*time.Second))
	p[1].RxBytes, p[1].TxBytes = 5<<20+12345, 3<<30+1
	p[1].PersistentKeepaliveInterval = 3661
	// 2, 3, 4: no handshake: kept in device order, after the others.
	p[2].RxBytes = 1 << 41
	p[2].TxBytes = ^uint64(0)
	p[3].AllowedIPs = []netip.Prefix{pfx("0.0.0.0/0")}
	p[3].PersistentKeepaliveInterval = 65535
	p[4].Endpoint = netip.MustParseAddrPort("[::ffff:10.0.0.1]:1")
	// 5: the most recent, in the same second as 6.
	p[5].LastHandshakeTime = now.Add(-3725 * time.Second)
	p[5].TxBytes = 1
	p[6].LastHandshakeTime = now.Add(-3725 * time.Second)
	p[6].PersistentKeepaliveInterval = 1
	// 7: handshake in the future.
	p[7].LastHandshakeTime = now.Add(90 * time.Second)
	return &wgtypes.Device{
		PrivateKey: priv,
		PublicKey:  priv.PublicKey(),
		ListenPort: 51820,
		FwMark:     0xca6c,
		Peers:      p,
	}
}

// showParams are the arguments of wg show after the interface ("" for none).
var showParams = []string{"", "public-key", "private-key", "listen-port", "fwmark", "peers", "preshared-keys",
	"endpoints", "allowed-ips", "latest-handshakes", "transfer", "persistent-keepalive", "dump", "bogus"}
