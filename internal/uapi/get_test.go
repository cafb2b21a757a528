package uapi

import (
	"bufio"
	"errors"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

func testDevice() *wgtypes.Device {
	priv := noise.PrivateKey(testKey(0x40)).Clamped()
	return &wgtypes.Device{
		PrivateKey: priv,
		PublicKey:  priv.PublicKey(),
		ListenPort: 51820,
		FwMark:     0x1234,
		Peers: []wgtypes.Peer{
			{
				PublicKey:                   pub1,
				PresharedKey:                noise.PresharedKey(testKey(0x33)),
				Endpoint:                    netip.MustParseAddrPort("[2001:db8::1]:51820"),
				PersistentKeepaliveInterval: 25,
				LastHandshakeTime:           time.Unix(1700000000, 123456789),
				RxBytes:                     1 << 40,
				TxBytes:                     1<<64 - 1,
				AllowedIPs:                  []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/64")},
				ProtocolVersion:             1,
			},
			{PublicKey: pub2, ProtocolVersion: 1},
		},
	}
}

func TestWriteGetFormat(t *testing.T) {
	want := "private_key=" + noise.PrivateKey(testKey(0x40)).Clamped().Hex() + "\n" +
		"listen_port=51820\n" +
		"fwmark=4660\n" +
		"public_key=" + hexOf(0x11) + "\n" +
		"preshared_key=" + hexOf(0x33) + "\n" +
		"protocol_version=1\n" +
		"endpoint=[2001:db8::1]:51820\n" +
		"last_handshake_time_sec=1700000000\n" +
		"last_handshake_time_nsec=123456789\n" +
		"tx_bytes=18446744073709551615\n" +
		"rx_bytes=1099511627776\n" +
		"persistent_keepalive_interval=25\n" +
		"allowed_ip=10.0.0.0/8\n" +
		"allowed_ip=fd00::/64\n" +
		"public_key=" + hexOf(0x22) + "\n" +
		"preshared_key=" + zeroes + "\n" +
		"protocol_version=1\n" +
		"last_handshake_time_sec=0\n" +
		"last_handshake_time_nsec=0\n" +
		"tx_bytes=0\n" +
		"rx_bytes=0\n" +
		"persistent_keepalive_interval=0\n"
	var b strings.Builder
	if err := WriteGet(&b, testDevice()); err != nil {
		t.Fatal(err)
	}
	if b.String() != want {
		t.Errorf("WriteGet =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteGetOmits(t *testing.T) {
	tests := []struct {
		name string
		dev  wgtypes.Device
		want string
	}{
		{"empty device", wgtypes.Device{}, ""},
		{"pre-epoch handshake as none", wgtypes.Device{Peers: []wgtypes.Peer{{LastHandshakeTime: time.Unix(-5, 0)}}},
			"public_key=" + zeroes + "\npreshared_key=" + zeroes + "\nprotocol_version=1\n" +
				"last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval=0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteGet(&b, &tt.dev); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("WriteGet = %q, want %q", b.String(), tt.want)
			}
		})
	}
}

func TestGetRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		dev    *wgtypes.Device
		suffix string
	}{
		{"full", testDevice(), ""},
		{"full with errno", testDevice(), "errno=0\n\n"},
		{"empty", &wgtypes.Device{}, "errno=0\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteGet(&b, tt.dev); err != nil {
				t.Fatal(err)
			}
			got, err := ParseGet(strings.NewReader(b.String() + tt.suffix))
			if err != nil {
				t.Fatalf("ParseGet: %v", err)
			}
			if !equalDevice(got, tt.dev) {
				t.Errorf("round trip =\n%+v\nwant\n%+v", got, tt.dev)
			}
		})
	}
}

// equalDevice compares devices, times with Equal.
func equalDevice(a, b *wgtypes.Device) bool {
	if len(a.Peers) != len(b.Peers) {
		return false
	}
	ac, bc := *a, *b
	ac.Peers, bc.Peers = nil, nil
	if !reflect.DeepEqual(ac, bc) {
		return false
	}
	for i := range a.Peers {
		ap, bp := a.Peers[i], b.Peers[i]
		if !ap.LastHandshakeTime.Equal(bp.LastHandshakeTime) {
			return false
		}
		ap.LastHandshakeTime, bp.LastHandshakeTime = time.Time{}, time.Time{}
		if len(ap.AllowedIPs) == 0 && len(bp.AllowedIPs) == 0 {
			ap.AllowedIPs, bp.AllowedIPs = nil, nil
		}
		if !reflect.DeepEqual(ap, bp) {
			return false
		}
	}
	return true
}

func TestParseGetErrno(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		errno int64
	}{
		{"negative as wireguard-go", "errno=-22\n\n", 22},
		{"positive tolerated", "errno=98\n\n", 98},
		{"after lines", "listen_port=1\nerrno=-5\n\n", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseGet(strings.NewReader(tt.in))
			var ue *Error
			if !errors.As(err, &ue) || ue.Errno != tt.errno {
				t.Errorf("err = %v, want errno %d", err, tt.errno)
			}
		})
	}
}

func TestParseGetErrors(t *testing.T) {
	peer := "public_key=" + hexOf(0x11) + "\n"
	tests := []struct {
		name string
		in   string
	}{
		{"no equals sign", "listen_port\nerrno=0\n\n"},
		{"bad private_key", "private_key=12\nerrno=0\n\n"},
		{"bad listen_port", "listen_port=65536\nerrno=0\n\n"},
		{"bad fwmark", "fwmark=x\nerrno=0\n\n"},
		{"bad public_key", "public_key=x\nerrno=0\n\n"},
		{"peer key first", "endpoint=1.2.3.4:5\nerrno=0\n\n"},
		{"device key in peer", peer + "listen_port=1\nerrno=0\n\n"},
		{"bad preshared_key", peer + "preshared_key=1\nerrno=0\n\n"},
		{"bad endpoint", peer + "endpoint=host:1\nerrno=0\n\n"},
		{"bad handshake sec", peer + "last_handshake_time_sec=-1\nerrno=0\n\n"},
		{"bad handshake nsec", peer + "last_handshake_time_nsec=x\nerrno=0\n\n"},
		{"handshake sec out of range", peer + "last_handshake_time_sec=9223372036854775807\nerrno=0\n\n"},
		{"handshake nsec out of range", peer + "last_handshake_time_nsec=1000000000\nerrno=0\n\n"},
		{"bad tx_bytes", peer + "tx_bytes=18446744073709551616\nerrno=0\n\n"},
		{"bad rx_bytes", peer + "rx_bytes=-1\nerrno=0\n\n"},
		{"bad keepalive", peer + "persistent_keepalive_interval=65536\nerrno=0\n\n"},
		{"bad allowed_ip", peer + "allowed_ip=10.0.0.0\nerrno=0\n\n"},
		{"bad protocol_version", peer + "protocol_version=x\nerrno=0\n\n"},
		{"bad errno", "errno=x\n\n"},
		{"line after errno", "errno=0\nlisten_port=1\n"},
		{"line too long", "x=" + strings.Repeat("1", MaxLineLength) + "\nerrno=0\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev, err := ParseGet(strings.NewReader(tt.in))
			if !errors.Is(err, ErrProtocol) {
				t.Errorf("ParseGet = %+v, %v; want EPROTO", dev, err)
			}
		})
	}
}

func TestParseGetLenient(t *testing.T) {
	in := "future_key=1\npublic_key=" + hexOf(0x11) + "\nfuture_peer_key=x\nerrno=0\n\n"
	dev, err := ParseGet(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(dev.Peers) != 1 || dev.Peers[0].PublicKey != pub1 {
		t.Errorf("ParseGet = %+v", dev)
	}
}

func TestParseGetStopsAfterAnswer(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("listen_port=1\nerrno=0\n\nnext"))
	dev, err := ParseGet(br)
	if err != nil || dev.ListenPort != 1 {
		t.Fatalf("ParseGet = %+v, %v", dev, err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "next" {
		t.Errorf("left %q, want %q", rest, "next")
	}
}
