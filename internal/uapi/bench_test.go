package uapi

import (
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// bigSet is a set body with n peers of two allowed IPs each.
func bigSet(n int) string {
	var b strings.Builder
	b.WriteString("private_key=" + hexOf(0x40) + "\nlisten_port=51820\nreplace_peers=true\n")
	for i := range n {
		var k noise.PublicKey
		k[0], k[1], k[2] = byte(i), byte(i>>8), 1
		b.WriteString("public_key=" + k.Hex() + "\npreshared_key=" + hexOf(0x33) +
			"\nendpoint=192.0.2.1:51820\npersistent_keepalive_interval=25\nreplace_allowed_ips=true\n")
		v4 := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0})
		v6 := netip.AddrFrom16([16]byte{0: 0xfd, 14: byte(i >> 8), 15: byte(i)})
		b.WriteString("allowed_ip=" + netip.PrefixFrom(v4, 24).String() + "\nallowed_ip=" + netip.PrefixFrom(v6, 128).String() + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

func BenchmarkParseSet1000Peers(b *testing.B) {
	body := bigSet(1000)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseSet(strings.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteGet1000Peers(b *testing.B) {
	cfg, err := ParseSet(strings.NewReader(bigSet(1000)))
	if err != nil {
		b.Fatal(err)
	}
	var dev wgtypes.Device
	applyToDevice(&dev, cfg)
	for b.Loop() {
		if err := WriteGet(io.Discard, &dev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReferenceIpcGet1000Peers is wireguard-go's get of the same
// device, for comparison with BenchmarkWriteGet1000Peers.
func BenchmarkReferenceIpcGet1000Peers(b *testing.B) {
	dev := referenceDeviceB(b, bigSet(1000))
	for b.Loop() {
		if err := dev.IpcGetOperation(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
